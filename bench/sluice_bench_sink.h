// Where consumers report what they received and acked: counts, the unique
// ids seen (with the message id each arrived under, to tell a duplicate
// enqueue from a redelivery), latency samples, and the condition that ends
// the consumption (a target count reached, nothing received for a while,
// or a deadline). Shared by every consumer of a scenario; thread-safe.
#ifndef SLUICE_BENCH_SLUICE_BENCH_SINK_H_
#define SLUICE_BENCH_SLUICE_BENCH_SINK_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "bench/sluice_bench_common.h"
#include "google/protobuf/repeated_field.h"

namespace sluice::bench {

struct SinkConfig {
  // Done once this many unique messages were received and this many acks
  // confirmed. 0 = no target yet (set later with SetTarget).
  uint64_t target = 0;
  // Done after this long without a message (0 = never).
  double idle_seconds = 0;
  // Done at this time whatever happened.
  int64_t deadline_ns = 0;
};

struct SinkStats {
  uint64_t received = 0;     // deliveries
  uint64_t unique = 0;       // distinct ids
  uint64_t acked = 0;        // acks confirmed OK
  uint64_t ack_failed = 0;   // acks answered with an error (or lost)
  uint64_t duplicates = 0;   // an id again under another message id
  uint64_t redelivered = 0;  // the same message id again (lease ran out)
  uint64_t foreign = 0;      // bodies that are not ours
  int64_t first_ns = 0;      // first delivery
  int64_t last_ns = 0;       // last delivery
  int64_t done_ns = 0;       // when the end condition became true; 0: not
};

class ConsumeSink {
 public:
  explicit ConsumeSink(SinkConfig config);

  // Messages just delivered at `now_ns` (latency = now - the body's time).
  void OnMessages(const google::protobuf::RepeatedPtrField<v1::Message>& ms,
                  int64_t now_ns);
  // Ack outcomes.
  void OnAcked(uint64_t ok, uint64_t failed);
  void SetTarget(uint64_t target);
  // Ends the consumption now, whatever the counts.
  void Stop();
  // Sets the idle clock's origin (the consumption starts now).
  void ResetIdle();

  // Whether consumption is over; evaluates idle and deadline.
  bool Done();
  // Blocks until Done().
  void WaitDone();

  SinkStats stats() const;
  // Latency samples of every delivery; call after the consumers stopped.
  Samples TakeSamples();
  // Whether an id was received; call after the consumers stopped.
  bool Seen(uint64_t id) const;

 private:
  bool CheckDone(int64_t now_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SinkConfig config_;
  mutable absl::Mutex mu_;
  uint64_t target_ ABSL_GUARDED_BY(mu_);
  int64_t idle_origin_ns_ ABSL_GUARDED_BY(mu_);
  SinkStats stats_ ABSL_GUARDED_BY(mu_);
  Samples samples_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::string> seen_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> done_{false};
};

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_SLUICE_BENCH_SINK_H_
