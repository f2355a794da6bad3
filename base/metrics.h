// Metrics in the Prometheus text exposition format (version 0.0.4), without a
// dependency: Debian 12 has no prometheus-cpp.
//
//   MetricsRegistry registry;
//   Counter* sent = registry.AddCounter("sluice_messages_sent_total",
//                                       "Messages accepted by Send.",
//                                       {{"queue", "jobs"}});
//   sent->Increment();
//   std::string page = registry.Render();   // served on GET /metrics
//
// Counters, gauges and histograms are updated lock-free and may be touched from
// any thread. Adding and removing series takes a mutex; Render() may run on any
// thread concurrently with updates. Series are owned by the registry and stay
// valid until removed (RemoveSeries) or the registry is destroyed.
#ifndef SLUICE_BASE_METRICS_H_
#define SLUICE_BASE_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace sluice {

// Label name → value. Ordered so that a series renders the same every time.
using MetricLabels = std::map<std::string, std::string>;

class Counter {
 public:
  void Increment(uint64_t by = 1) {
    value_.fetch_add(by, std::memory_order_relaxed);
  }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative histogram with fixed upper bounds (the +Inf bucket is implicit).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Count of observations <= upper_bounds()[i]; the last entry is +Inf.
  std::vector<uint64_t> CumulativeCounts() const;
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

  // Bounds start, start*factor, ... (count of them): for latencies.
  static std::vector<double> ExponentialBounds(double start, double factor,
                                               int count);

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bound, plus +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Returns the series with this name and labels, creating it on first use.
  // A name keeps the type and help text it was first registered with; asking
  // for it as another type is a bug and crashes.
  Counter* AddCounter(const std::string& name, const std::string& help,
                      const MetricLabels& labels = {});
  Gauge* AddGauge(const std::string& name, const std::string& help,
                  const MetricLabels& labels = {});
  Histogram* AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> upper_bounds,
                          const MetricLabels& labels = {});

  // Drops one series (e.g. when a queue is deleted). Pointers to it dangle.
  void RemoveSeries(const std::string& name, const MetricLabels& labels);

  // The whole registry in the Prometheus text format, families sorted by name.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<MetricLabels, std::unique_ptr<Counter>> counters;
    std::map<MetricLabels, std::unique_ptr<Gauge>> gauges;
    std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;
  };

  Family& FamilyFor(const std::string& name, const std::string& help, Type type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice

#endif  // SLUICE_BASE_METRICS_H_
