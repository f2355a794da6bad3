// The drain scenario: preload N messages (not timed), then C consumers
// receive and ack until all N are gone; throughput = N / time.
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/sluice_bench_consume.h"
#include "bench/sluice_bench_producer.h"
#include "bench/sluice_bench_queue.h"
#include "bench/sluice_bench_scenarios.h"
#include "bench/sluice_bench_watchdog.h"

namespace sluice::bench {

int RunDrain(const BenchFlags& flags) {
  QueueAdmin admin(flags.addresses);
  ScopedQueue queue(flags, admin);
  if (absl::Status s = queue.Create(); !s.ok()) {
    Log(absl::StrCat("setup failed: ", s.ToString()));
    return kExitSetup;
  }
  const int64_t soft_deadline = Watchdog::Get().SoftDeadlineNs();

  // Preload, as the peers' `fill`: same producers, batched, not timed.
  ProducerConfig base;
  base.queue = queue.name();
  base.window = flags.window;
  base.batch = flags.preload_batch;
  base.size = flags.size;
  base.rpc_timeout_ms = flags.rpc_timeout_ms;
  Log(absl::StrFormat("preloading %d messages (%d producers, %d per Send)",
                      flags.n, flags.producers, flags.preload_batch));
  int64_t fill_start = 0;
  const ProducerStats fill =
      RunProducers(flags.addresses, flags.producers, base, flags.n,
                   NsToSeconds(soft_deadline - NowNs()), &fill_start);
  const double fill_secs = NsToSeconds(fill.end_ns - fill_start);
  const double fill_rate =
      fill_secs > 0 ? static_cast<double>(fill.acked) / fill_secs : 0.0;
  Log(absl::StrFormat("preload: acked %d failed %d in %.2f s (%.0f msgs/s)",
                      fill.acked, fill.failed, fill_secs, fill_rate));
  if (fill.acked != flags.n) {
    Log(absl::StrCat("preload incomplete: ", ErrorSummary(fill.errors)));
    return fill.acked == 0 ? kExitSetup : kExitIncomplete;
  }

  const bool stream = flags.mode == "stream";
  SinkConfig sink_config;
  sink_config.target = flags.n;
  sink_config.deadline_ns = soft_deadline;
  ConsumeSink sink(sink_config);
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int i = 0; i < flags.consumers; ++i) {
    ConsumerConfig c;
    c.addresses = flags.addresses;
    c.first_address = static_cast<size_t>(i) + 1;  // as the peers: node 2 on
    c.queue = queue.name();
    c.batch = flags.batch;
    c.rpc_timeout_ms = flags.rpc_timeout_ms;
    consumers.push_back(stream ? NewStreamConsumer(std::move(c), &sink)
                               : NewUnaryConsumer(std::move(c), &sink));
  }
  Log(absl::StrFormat("draining with %d %s consumers, batch %d",
                      flags.consumers, flags.mode, flags.batch));
  const int64_t start = NowNs();
  sink.ResetIdle();
  for (auto& c : consumers) c->Start();
  sink.WaitDone();
  uint64_t streams = 0, errors = 0;
  for (auto& c : consumers) {
    c->Wait();
    streams += c->stats().streams;
    errors += c->stats().rpc_errors;
  }
  const SinkStats st = sink.stats();
  const double secs = NsToSeconds(st.done_ns - start);
  const double rate = secs > 0 ? static_cast<double>(st.unique) / secs : 0.0;

  // The peers' drain is pull-style batches of 64; the stream mode is the
  // headline `drain`, the unary mode its own scenario name.
  Result r(stream ? "drain" : "drain_unary");
  r.Str("mode", flags.mode)
      .Int("C", flags.consumers)
      .Int("batch", flags.batch)
      .Int("n", static_cast<int64_t>(flags.n))
      .Int("got", static_cast<int64_t>(st.unique))
      .Num("secs", secs, 2)
      .Num("msgs_per_s", rate, 0)
      .Int("received", static_cast<int64_t>(st.received))
      .Int("acked", static_cast<int64_t>(st.acked))
      .Int("ack_failed", static_cast<int64_t>(st.ack_failed))
      .Int("dups", static_cast<int64_t>(st.duplicates))
      .Int("redelivered", static_cast<int64_t>(st.redelivered))
      .Int("size", flags.size)
      .Int("partitions", flags.partitions)
      .Num("preload_msgs_per_s", fill_rate, 0)
      .Int("rpc_errors", static_cast<int64_t>(errors))
      .Str("queue", queue.name());
  const std::string summary = absl::StrFormat(
      "receive+ack throughput (drain %d, %d %s consumers, batch %d): "
      "%.0f msgs/s\n"
      "  got %d unique of %d in %.2f s; %d deliveries, %d acks confirmed, "
      "%d ack failures, %d redelivered, %d duplicates\n"
      "  preload %.0f msgs/s (%d per Send); %d %s, %d consumer errors\n",
      flags.n, flags.consumers, flags.mode, flags.batch, rate, st.unique,
      flags.n, secs, st.received, st.acked, st.ack_failed, st.redelivered,
      st.duplicates, fill_rate, flags.preload_batch,
      stream ? streams : static_cast<uint64_t>(flags.consumers),
      stream ? "streams" : "loops", errors);
  PrintResult(flags, summary, r);
  if (st.duplicates > 0) return kExitDuplicate;
  return st.unique >= flags.n ? kExitOk : kExitIncomplete;
}

}  // namespace sluice::bench
