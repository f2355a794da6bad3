#include "base/metrics.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, RendersCountersAndGaugesInTextFormat) {
  MetricsRegistry registry;
  registry
      .AddCounter("sluice_sent_total", "Messages sent.", {{"queue", "jobs"}})
      ->Increment(3);
  registry.AddGauge("sluice_visible", "Visible messages.", {{"queue", "jobs"}})
      ->Set(42);
  EXPECT_EQ(registry.Render(),
            "# HELP sluice_sent_total Messages sent.\n"
            "# TYPE sluice_sent_total counter\n"
            "sluice_sent_total{queue=\"jobs\"} 3\n"
            "# HELP sluice_visible Visible messages.\n"
            "# TYPE sluice_visible gauge\n"
            "sluice_visible{queue=\"jobs\"} 42\n");
}

TEST(MetricsTest, SameNameAndLabelsIsTheSameSeries) {
  MetricsRegistry registry;
  Counter* a = registry.AddCounter("c", "h", {{"q", "1"}});
  Counter* b = registry.AddCounter("c", "h", {{"q", "1"}});
  Counter* other = registry.AddCounter("c", "h", {{"q", "2"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  Histogram* h =
      registry.AddHistogram("lat_seconds", "Latency.", {0.001, 0.01});
  h->Observe(0.0005);
  h->Observe(0.005);
  h->Observe(0.005);
  h->Observe(2);
  std::string page = registry.Render();
  EXPECT_THAT(page, HasSubstr("lat_seconds_bucket{le=\"0.001\"} 1\n"));
  EXPECT_THAT(page, HasSubstr("lat_seconds_bucket{le=\"0.01\"} 3\n"));
  EXPECT_THAT(page, HasSubstr("lat_seconds_bucket{le=\"+Inf\"} 4\n"));
  EXPECT_THAT(page, HasSubstr("lat_seconds_count 4\n"));
  EXPECT_THAT(page, HasSubstr("lat_seconds_sum 2.0105\n"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.AddGauge("g", "h", {{"name", "a\"b\\c\nd"}})->Set(1);
  EXPECT_THAT(registry.Render(), HasSubstr("g{name=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(MetricsTest, RemovedSeriesDisappear) {
  MetricsRegistry registry;
  registry.AddGauge("g", "h", {{"queue", "old"}})->Set(1);
  registry.AddGauge("g", "h", {{"queue", "kept"}})->Set(2);
  registry.RemoveSeries("g", {{"queue", "old"}});
  EXPECT_THAT(registry.Render(), Not(HasSubstr("old")));
  EXPECT_THAT(registry.Render(), HasSubstr("g{queue=\"kept\"} 2"));
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  Counter* c = registry.AddCounter("c", "h");
  Gauge* g = registry.AddGauge("g", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Increment();
        g->Add(0.5);
        if (i % 1000 == 0) registry.Render();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(c->Value(), 40000u);
  EXPECT_EQ(g->Value(), 20000.0);
}

}  // namespace
}  // namespace sluice
