// The failover scenario: produce at a fixed rate through the nodes that do
// not lead partition 0, kill -9 its leader, restart it, stop producing,
// drain, and check by id that every acknowledged message is there.
#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "bench/sluice_bench_consume.h"
#include "bench/sluice_bench_idempotent.h"
#include "bench/sluice_bench_process.h"
#include "bench/sluice_bench_producer.h"
#include "bench/sluice_bench_queue.h"
#include "bench/sluice_bench_scenarios.h"
#include "bench/sluice_bench_watchdog.h"

namespace sluice::bench {
namespace {

// The leader's process: killed once, restarted once (also by the watchdog,
// so a run cut short never leaves the cluster a node down). Thread-safe.
class VictimNode {
 public:
  explicit VictimNode(NodeProcess node) : node_(std::move(node)) {}

  absl::Status Kill() {
    absl::MutexLock lock(&mu_);
    absl::Status s = KillNode(node_, 5000);
    killed_ = s.ok();
    return s;
  }

  // The new PID; 0 if the node was not killed or is already restarted.
  absl::StatusOr<pid_t> RestartIfKilled() {
    absl::MutexLock lock(&mu_);
    if (!killed_ || restarted_) return 0;
    absl::StatusOr<pid_t> pid = RestartNode(node_);
    restarted_ = pid.ok();
    return pid;
  }

  const NodeProcess& node() const { return node_; }

 private:
  const NodeProcess node_;
  absl::Mutex mu_;
  bool killed_ ABSL_GUARDED_BY(mu_) = false;
  bool restarted_ ABSL_GUARDED_BY(mu_) = false;
};

// Drains the queue with one stream consumer (credits 64, as the peers) until
// every generated message arrived or nothing came for --idle seconds.
SinkStats Drain(const BenchFlags& flags, const std::string& queue,
                uint64_t sent, std::unique_ptr<ConsumeSink>* sink_out) {
  SinkConfig config;
  config.idle_seconds = flags.idle;
  config.deadline_ns = Watchdog::Get().SoftDeadlineNs();
  auto sink = std::make_unique<ConsumeSink>(config);
  if (sent > 0) sink->SetTarget(sent);
  ConsumerConfig c;
  c.addresses = flags.addresses;
  c.first_address = 0;
  c.queue = queue;
  c.batch = 64;
  c.rpc_timeout_ms = 10000;
  std::unique_ptr<Consumer> consumer = NewStreamConsumer(c, sink.get());
  sink->ResetIdle();
  consumer->Start();
  sink->WaitDone();
  consumer->Wait();
  SinkStats st = sink->stats();
  *sink_out = std::move(sink);
  return st;
}

}  // namespace

int RunFailover(const BenchFlags& flags) {
  QueueAdmin admin(flags.addresses);
  ScopedQueue queue(flags, admin);
  if (absl::Status s = queue.Create(); !s.ok()) {
    Log(absl::StrCat("setup failed: ", s.ToString()));
    return kExitSetup;
  }
  const v1::PartitionRoute& route = queue.routes().partition_routes(0);
  const uint64_t leader = route.leader_node_id();
  std::vector<std::string> others;
  bool leader_listed = false;
  for (const std::string& a : flags.addresses) {
    if (a == route.leader_address()) {
      leader_listed = true;
    } else {
      others.push_back(a);
    }
  }
  if (!leader_listed || others.empty()) {
    Log(absl::StrCat("partition 0's leader address ", route.leader_address(),
                     " must be one of --addresses, with at least one other"));
    return kExitSetup;
  }
  absl::StatusOr<NodeProcess> process =
      FindNodeProcess(flags.cluster_dir, leader);
  if (!process.ok()) {
    Log(absl::StrCat("cannot find the leader's process: ",
                     process.status().ToString()));
    return kExitSetup;
  }
  // Shared with the watchdog, which may still run it as this returns.
  auto victim_ptr = std::make_shared<VictimNode>(*std::move(process));
  VictimNode& victim = *victim_ptr;
  const int watchdog_id = Watchdog::Get().Register(
      absl::StrCat("restarting node ", leader, " if it is down"),
      [victim_ptr] { (void)victim_ptr->RestartIfKilled(); });
  Log(absl::StrFormat(
      "failover: leader of partition 0 is node %d (%s, pid %d); producing "
      "via %s",
      leader, route.leader_address(), victim.node().pid,
      absl::StrJoin(others, ",")));

  IdempotentConfig pc;
  pc.addresses = others;
  pc.queue = queue.name();
  pc.partitions = flags.partitions;
  pc.rate = flags.rate;
  pc.batch = flags.batch;
  pc.size = flags.size;
  pc.rpc_timeout_ms = flags.rpc_timeout_ms;
  const int64_t start = NowNs() + 200000000;
  pc.start_ns = start;
  pc.stop_ns = start + SecondsToNs(flags.seconds);
  pc.give_up_ns =
      start + SecondsToNs(std::max(flags.drain_at - 0.5, flags.seconds + 2));
  IdempotentProducer producer(pc);
  producer.Start();
  Log(absl::StrFormat("producing at %.0f msgs/s (t=0)", flags.rate));

  SleepUntilNs(start + SecondsToNs(flags.kill_at));
  const int64_t kill_ns = NowNs();
  absl::Status killed = victim.Kill();
  producer.SetKillTime(kill_ns);
  Log(absl::StrFormat("t=%.2f s: kill -9 %d (node %d): %s",
                      NsToSeconds(kill_ns - start), victim.node().pid, leader,
                      killed.ToString()));

  SleepUntilNs(start + SecondsToNs(flags.restart_at));
  absl::StatusOr<pid_t> restarted = victim.RestartIfKilled();
  Log(absl::StrFormat("t=%.2f s: restart node %d: %s",
                      NsToSeconds(NowNs() - start), leader,
                      restarted.ok() ? absl::StrCat("pid ", *restarted)
                                     : restarted.status().ToString()));

  producer.Wait();
  const IdempotentStats ps = producer.stats();
  Log(absl::StrFormat(
      "t=%.2f s: producer done: sent %d confirmed %d failed %d unanswered %d "
      "retries %d",
      NsToSeconds(ps.end_ns - start), ps.sent, ps.confirmed, ps.failed,
      ps.unanswered, ps.retries));

  SleepUntilNs(start + SecondsToNs(flags.drain_at));
  uint64_t new_leader = 0;
  if (absl::StatusOr<v1::GetQueueResponse> r =
          admin.WaitForLeaders(queue.name(), 10000);
      r.ok()) {
    new_leader = r->partition_routes(0).leader_node_id();
  }
  Log(absl::StrFormat("t=%.2f s: draining (partition 0 leader: node %d)",
                      NsToSeconds(NowNs() - start), new_leader));
  std::unique_ptr<ConsumeSink> sink;
  const SinkStats ds = Drain(flags, queue.name(), ps.sent, &sink);
  Watchdog::Get().Unregister(watchdog_id);

  uint64_t run = 0, max_run = 0, lost = 0, extra = 0;
  for (uint64_t seq = 1; seq <= ps.sent; ++seq) {
    const bool confirmed = producer.Confirmed(seq);
    const bool seen = sink->Seen(MakeId(0, seq));
    run = confirmed ? 0 : run + 1;
    max_run = std::max(max_run, run);
    if (confirmed && !seen) ++lost;
    if (!confirmed && seen) ++extra;
  }
  const uint64_t failed = ps.sent - ps.confirmed;

  Result r("failover");
  r.Num("rate", flags.rate, 0)
      .Int("sent", static_cast<int64_t>(ps.sent))
      .Int("confirmed", static_cast<int64_t>(ps.confirmed))
      .Int("failed", static_cast<int64_t>(failed))
      .Num("max_ack_gap_ms", NsToMs(ps.max_gap_ns), 0)
      .Num("kill_ack_gap_ms", NsToMs(ps.kill_gap_ns), 0)
      .Num("max_unconfirmed_run_ms",
           static_cast<double>(max_run) * 1000.0 / flags.rate, 0)
      .Int("drained", static_cast<int64_t>(ds.received))
      .Int("unique", static_cast<int64_t>(ds.unique))
      .Int("dups", static_cast<int64_t>(ds.duplicates))
      .Int("redelivered", static_cast<int64_t>(ds.redelivered))
      .Int("lost_confirmed", static_cast<int64_t>(lost))
      .Int("unconfirmed_but_present", static_cast<int64_t>(extra))
      .Int("retries", static_cast<int64_t>(ps.retries))
      .Int("duplicate_acks", static_cast<int64_t>(ps.duplicate_acks))
      .Int("stale_acks", static_cast<int64_t>(ps.stale_acks))
      .Num("gap_began_at_s",
           ps.max_gap_start_ns ? NsToSeconds(ps.max_gap_start_ns - start) : -1,
           2)
      .Num("killed_at_s", NsToSeconds(kill_ns - start), 2)
      .Int("killed_leader", static_cast<int64_t>(leader))
      .Int("new_leader", static_cast<int64_t>(new_leader))
      .Int("partitions", flags.partitions)
      .Int("batch", flags.batch)
      .Str("queue", queue.name());
  std::string summary = absl::StrFormat(
      "failover (kill -9 of partition 0's leader, node %d, at %.2f s; "
      "restarted at %.0f s; %.0f msgs/s for %.0f s):\n"
      "  longest gap between acks: %.0f ms after the kill, %.0f ms over the "
      "run (began at %.2f s)\n"
      "  sent %d, confirmed %d, failed/unconfirmed %d (%d non-retryable, %d "
      "given up); %d retries, %d duplicate acks, %d stale acks\n"
      "  drained %d (%d unique, %d redelivered): lost confirmed %d, "
      "duplicates %d, unconfirmed but present %d\n"
      "  partition 0 leader afterwards: node %d\n",
      leader, NsToSeconds(kill_ns - start), flags.restart_at, flags.rate,
      flags.seconds, NsToMs(ps.kill_gap_ns), NsToMs(ps.max_gap_ns),
      ps.max_gap_start_ns ? NsToSeconds(ps.max_gap_start_ns - start) : -1.0,
      ps.sent, ps.confirmed, failed, ps.failed, ps.unanswered, ps.retries,
      ps.duplicate_acks, ps.stale_acks, ds.received, ds.unique, ds.redelivered,
      lost, ds.duplicates, extra, new_leader);
  if (!ps.errors.empty()) {
    absl::StrAppend(&summary, "  send errors: ", ErrorSummary(ps.errors), "\n");
  }
  if (!killed.ok() || !restarted.ok()) {
    absl::StrAppend(&summary, "  WARNING: kill: ", killed.ToString(),
                    "; restart: ", restarted.status().ToString(), "\n");
  }
  PrintResult(flags, summary, r);
  if (lost > 0) return kExitLost;
  if (ds.duplicates > 0) return kExitDuplicate;
  if (!killed.ok() || !restarted.ok()) return kExitSetup;
  return kExitOk;
}

}  // namespace sluice::bench
