#include "broker/meta/placement.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"

namespace sluice::meta {

absl::StatusOr<std::vector<sluice::internal::PartitionPlacement>>
PlacePartitions(const sluice::internal::MetadataState& state,
                const std::vector<uint64_t>& nodes, uint32_t partitions,
                uint32_t replication) {
  if (nodes.empty())
    return absl::FailedPreconditionError("no nodes to place on");
  if (partitions == 0 || partitions > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition_count: ", partitions, " is not in 1..1024"));
  }
  if (replication == 0)
    return absl::InvalidArgumentError("replication: must be >= 1");
  replication = std::min<uint32_t>(replication, nodes.size());

  std::map<uint64_t, int> replicas, leaders;  // load per node
  for (uint64_t n : nodes) replicas[n] = leaders[n] = 0;
  for (const auto& queue : state.queues()) {
    for (const auto& p : queue.partitions()) {
      for (uint64_t n : p.replicas()) {
        if (replicas.count(n)) ++replicas[n];
      }
      if (leaders.count(p.preferred_leader())) ++leaders[p.preferred_leader()];
    }
  }
  std::vector<sluice::internal::PartitionPlacement> out;
  for (uint32_t i = 0; i < partitions; ++i) {
    std::vector<uint64_t> order(nodes.begin(), nodes.end());
    std::sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) {
      return replicas[a] != replicas[b] ? replicas[a] < replicas[b] : a < b;
    });
    order.resize(replication);
    std::sort(order.begin(), order.end());
    uint64_t leader = order[0];
    for (uint64_t n : order) {
      if (leaders[n] < leaders[leader]) leader = n;
    }
    sluice::internal::PartitionPlacement p;
    p.set_partition(i);
    for (uint64_t n : order) {
      p.add_replicas(n);
      ++replicas[n];
    }
    p.set_preferred_leader(leader);
    ++leaders[leader];
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace sluice::meta
