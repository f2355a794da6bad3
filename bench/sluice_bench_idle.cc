// The idle scenario: what partitions cost when nobody uses them. Creates
// --queues queues of --partitions partitions each, lets them settle, then
// measures the CPU time every node of a scripts/cluster cluster uses over
// --seconds while no client sends anything. Run it once with the cluster's
// defaults and once with SLUICED_FLAGS=--quiesce=false to see what
// quiescence (raft/README.md) saves.
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/sluice_bench_process.h"
#include "bench/sluice_bench_queue.h"
#include "bench/sluice_bench_scenarios.h"

namespace sluice::bench {

int RunIdle(const BenchFlags& flags) {
  std::vector<NodeProcess> nodes;
  for (uint64_t id = 1; id <= flags.addresses.size(); ++id) {
    absl::StatusOr<NodeProcess> node = FindNodeProcess(flags.cluster_dir, id);
    if (!node.ok()) {
      Log(absl::StrCat("setup failed: ", node.status().ToString()));
      return kExitSetup;
    }
    nodes.push_back(*std::move(node));
  }
  QueueAdmin admin(flags.addresses);
  std::vector<std::unique_ptr<ScopedQueue>> queues;
  for (int i = 0; i < flags.queues; ++i) {
    queues.push_back(std::make_unique<ScopedQueue>(flags, admin));
    if (absl::Status s = queues.back()->Create(); !s.ok()) {
      Log(absl::StrCat("setup failed: ", s.ToString()));
      return kExitSetup;
    }
  }
  const int64_t groups = int64_t{flags.queues} * flags.partitions;
  Log(
      absl::StrFormat("%d queues x %d partitions = %d partitions; settling "
                      "for %.0f s",
                      flags.queues, flags.partitions, groups, flags.idle));
  SleepUntilNs(NowNs() + static_cast<int64_t>(flags.idle * 1e9));

  std::vector<double> before;
  for (const NodeProcess& n : nodes) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(n.pid);
    if (!cpu.ok()) {
      Log(absl::StrCat("node ", n.node_id, ": ", cpu.status().ToString()));
      return kExitSetup;
    }
    before.push_back(*cpu);
  }
  const int64_t start = NowNs();
  SleepUntilNs(start + static_cast<int64_t>(flags.seconds * 1e9));
  const double elapsed = NsToSeconds(NowNs() - start);
  double total = 0;
  std::string per_node;
  for (size_t i = 0; i < nodes.size(); ++i) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(nodes[i].pid);
    if (!cpu.ok()) {
      Log(absl::StrCat("node ", nodes[i].node_id, ": ",
                       cpu.status().ToString()));
      return kExitIncomplete;
    }
    const double pct = 100 * (*cpu - before[i]) / elapsed;
    total += pct;
    absl::StrAppendFormat(&per_node, " node%d=%.1f%%", nodes[i].node_id, pct);
  }
  // Every node holds (partitions x replication / nodes) replicas.
  const double replicas_per_node = static_cast<double>(groups) *
                                   flags.replication /
                                   static_cast<double>(nodes.size());
  const double per_1000 = replicas_per_node > 0
                              ? 1000 * total / nodes.size() / replicas_per_node
                              : 0;
  Result r("idle");
  r.Int("queues", flags.queues)
      .Int("partitions", flags.partitions)
      .Int("groups", groups)
      .Num("replicas_per_node", replicas_per_node, 0)
      .Num("secs", elapsed, 1)
      .Num("cpu_pct_all_nodes", total, 1)
      .Num("cpu_pct_per_1000_replicas", per_1000, 2);
  PrintResult(flags,
              absl::StrFormat("idle: %d partitions (%.0f replicas per node), "
                              "no traffic, %.1f s\n"
                              "  CPU:%s, all nodes %.1f%% of one core; "
                              "%.2f%% of a core per 1000 replicas\n",
                              groups, replicas_per_node, elapsed, per_node,
                              total, per_1000),
              r);
  return kExitOk;
}

}  // namespace sluice::bench
