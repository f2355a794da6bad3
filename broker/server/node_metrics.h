// The Prometheus series of one node, refreshed on every scrape: per queue
// partition this node leads (visible, in flight, delayed, oldest age, and
// sent / received / deleted counters), per Raft group hosted here (role,
// term, commit index, apply lag), leadership changes and the storage
// writer's fsync latency histogram.
#ifndef SLUICE_BROKER_SERVER_NODE_METRICS_H_
#define SLUICE_BROKER_SERVER_NODE_METRICS_H_

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "base/metrics.h"
#include "broker/api/local_executor.h"
#include "broker/api/partition_leaders.h"
#include "broker/host/group_status.h"

namespace sluice::broker {

class NodeMetrics {
 public:
  explicit NodeMetrics(uint64_t node_id);

  MetricsRegistry& registry() { return registry_; }
  // Observed from the storage writer thread.
  Histogram* fsync_seconds() { return fsync_seconds_; }
  Counter* leadership_changes() { return leadership_changes_; }

  // One scrape's worth of state; series that went away are dropped.
  void Refresh(
      const std::vector<GroupStatus>& groups,
      const std::vector<PartitionLeaders::Gauges>& partitions,
      const std::map<raft::GroupId, LocalExecutor::Counters>& counters);

 private:
  MetricLabels Labels(
      std::initializer_list<std::pair<const std::string, std::string>> extra)
      const;

  const uint64_t node_id_;
  MetricsRegistry registry_;
  Histogram* fsync_seconds_;
  Counter* leadership_changes_;
  // name -> label sets set at the previous scrape.
  std::map<std::string, std::set<MetricLabels>> previous_;
  // Counter values already reported, by group and name.
  std::map<std::pair<uint64_t, std::string>, uint64_t> reported_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_NODE_METRICS_H_
