// The send scenario: P producers, window W, B entries per Send, for S
// seconds; throughput = acknowledged messages / time until every ack came.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/sluice_bench_producer.h"
#include "bench/sluice_bench_queue.h"
#include "bench/sluice_bench_scenarios.h"

namespace sluice::bench {

int RunSend(const BenchFlags& flags) {
  QueueAdmin admin(flags.addresses);
  ScopedQueue queue(flags, admin);
  if (absl::Status s = queue.Create(); !s.ok()) {
    Log(absl::StrCat("setup failed: ", s.ToString()));
    return kExitSetup;
  }
  ProducerConfig base;
  base.queue = queue.name();
  base.window = flags.window;
  base.batch = flags.batch;
  base.size = flags.size;
  base.rpc_timeout_ms = flags.rpc_timeout_ms;
  Log(absl::StrFormat(
      "send: %d producers, window %d, %d message(s) per Send, %d B, %.0f s",
      flags.producers, flags.window, flags.batch, flags.size, flags.seconds));
  int64_t start_ns = 0;
  const ProducerStats st = RunProducers(flags.addresses, flags.producers, base,
                                        0, flags.seconds, &start_ns);
  const double elapsed = NsToSeconds(st.end_ns - start_ns);
  const double rate =
      elapsed > 0 ? static_cast<double>(st.acked) / elapsed : 0.0;

  // batch 1 is the peers' shape (one message per publish); batched sends
  // are a different scenario so that a report never pools the two.
  Result r(flags.batch == 1 ? "send" : "send_batched");
  r.Int("P", flags.producers)
      .Int("window", flags.window)
      .Int("batch", flags.batch)
      .Num("secs", flags.seconds, 0)
      .Int("size", flags.size)
      .Int("partitions", flags.partitions)
      .Int("acked", static_cast<int64_t>(st.acked))
      .Int("failed", static_cast<int64_t>(st.failed))
      .Num("msgs_per_s", rate, 0)
      .Num("elapsed_s", elapsed, 2)
      .Int("rpcs", static_cast<int64_t>(st.rpcs))
      .Int("rpc_errors", static_cast<int64_t>(st.rpc_errors))
      .Str("queue", queue.name());
  std::string summary = absl::StrFormat(
      "send throughput (%s): %.0f msgs/s acknowledged\n"
      "  P=%d producers, window %d Sends, %d message(s) per Send, %d B, "
      "%.0f s + drain of the window = %.2f s\n"
      "  sent %d, acked %d, failed %d; %d RPCs, %d failed\n",
      flags.batch == 1 ? "one message per Send"
                       : absl::StrCat(flags.batch, " messages per Send"),
      rate, flags.producers, flags.window, flags.batch, flags.size,
      flags.seconds, elapsed, st.sent, st.acked, st.failed, st.rpcs,
      st.rpc_errors);
  if (!st.errors.empty()) {
    absl::StrAppend(&summary, "  errors: ", ErrorSummary(st.errors), "\n");
  }
  PrintResult(flags, summary, r);
  if (st.acked == 0) return kExitSetup;
  return st.failed > 0 ? kExitIncomplete : kExitOk;
}

}  // namespace sluice::bench
