// The latency scenario: one open-loop producer at a fixed rate (window 64,
// one message per Send), one streaming consumer acking every message;
// latency = receive time - intended send time.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/sluice_bench_consume.h"
#include "bench/sluice_bench_producer.h"
#include "bench/sluice_bench_queue.h"
#include "bench/sluice_bench_scenarios.h"
#include "bench/sluice_bench_watchdog.h"

namespace sluice::bench {

int RunLatency(const BenchFlags& flags) {
  QueueAdmin admin(flags.addresses);
  ScopedQueue queue(flags, admin);
  if (absl::Status s = queue.Create(); !s.ok()) {
    Log(absl::StrCat("setup failed: ", s.ToString()));
    return kExitSetup;
  }
  SinkConfig sink_config;
  sink_config.deadline_ns = Watchdog::Get().SoftDeadlineNs();
  ConsumeSink sink(sink_config);
  ConsumerConfig c;
  c.addresses = flags.addresses;
  c.first_address = 1;  // as the peers: the consumer starts at node 2
  c.queue = queue.name();
  c.batch = flags.batch;
  c.rpc_timeout_ms = flags.rpc_timeout_ms;
  std::unique_ptr<Consumer> consumer = NewStreamConsumer(c, &sink);
  consumer->Start();
  const int64_t ready_by = NowNs() + 10000000000;
  while (!consumer->Ready() && NowNs() < ready_by && !sink.Done()) {
    SleepUntilNs(NowNs() + 10000000);
  }
  if (!consumer->Ready()) {
    Log(absl::StrCat("the consumer's stream did not start: ",
                     consumer->stats().last_error));
    sink.Stop();
    return kExitSetup;
  }

  ProducerConfig p;
  p.index = 0;
  p.queue = queue.name();
  p.window = flags.window;
  p.batch = 1;
  p.size = flags.size;
  p.rate = flags.rate;
  p.rpc_timeout_ms = flags.rpc_timeout_ms;
  p.start_ns = NowNs() + 300000000;
  p.stop_ns = p.start_ns + SecondsToNs(flags.seconds);
  Log(
      absl::StrFormat("latency: %.0f msgs/s for %.0f s, window %d, consumer "
                      "credits %d",
                      flags.rate, flags.seconds, flags.window, flags.batch));
  WindowedProducer producer(NewChannel(flags.addresses[0]), p);
  producer.Start();
  producer.Wait();
  ProducerStats ps = producer.stats();
  // Everything acknowledged must arrive; wait up to 15 s more (as the peers).
  if (ps.acked == 0) {
    sink.Stop();
  } else {
    sink.SetTarget(ps.acked);
  }
  const int64_t wait_until = p.stop_ns + 15000000000;
  while (!sink.Done() && NowNs() < wait_until) {
    SleepUntilNs(NowNs() + 10000000);
  }
  sink.Stop();
  consumer->Wait();
  const SinkStats st = sink.stats();
  Samples samples = sink.TakeSamples();

  Result r("latency");
  r.Num("rate", flags.rate, 0)
      .Num("secs", flags.seconds, 0)
      .Int("batch", flags.batch)
      .Int("window", flags.window)
      .Int("sent", static_cast<int64_t>(ps.sent))
      .Int("acked", static_cast<int64_t>(ps.acked))
      .Int("failed", static_cast<int64_t>(ps.failed))
      .Int("received", static_cast<int64_t>(st.unique))
      .Num("p50_ms", samples.PercentileMs(0.50), 3)
      .Num("p99_ms", samples.PercentileMs(0.99), 3)
      .Num("p999_ms", samples.PercentileMs(0.999), 3)
      .Num("max_ms", samples.MaxMs(), 3)
      .Num("send_ack_p50_ms", ps.ack_latency.PercentileMs(0.50), 3)
      .Num("send_ack_p99_ms", ps.ack_latency.PercentileMs(0.99), 3)
      .Int("size", flags.size)
      .Int("partitions", flags.partitions)
      .Str("queue", queue.name());
  std::string summary = absl::StrFormat(
      "end-to-end latency at %.0f msgs/s (%.0f s, window %d, credits %d):\n"
      "  p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n"
      "  (of which sending: intended send -> ack p50 %.3f ms, p99 %.3f ms)\n"
      "  sent %d, acked %d, failed %d, received %d (%d deliveries, %d acks "
      "confirmed)\n",
      flags.rate, flags.seconds, flags.window, flags.batch,
      samples.PercentileMs(0.50), samples.PercentileMs(0.99),
      samples.PercentileMs(0.999), samples.MaxMs(),
      ps.ack_latency.PercentileMs(0.50), ps.ack_latency.PercentileMs(0.99),
      ps.sent, ps.acked, ps.failed, st.unique, st.received, st.acked);
  if (!ps.errors.empty()) {
    absl::StrAppend(&summary, "  send errors: ", ErrorSummary(ps.errors), "\n");
  }
  PrintResult(flags, summary, r);
  if (st.duplicates > 0) return kExitDuplicate;
  if (ps.acked == 0) return kExitSetup;
  return ps.failed > 0 || st.unique < ps.acked ? kExitIncomplete : kExitOk;
}

}  // namespace sluice::bench
