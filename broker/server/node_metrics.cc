#include "broker/server/node_metrics.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/core/ready.h"

namespace sluice::broker {

NodeMetrics::NodeMetrics(uint64_t node_id) : node_id_(node_id) {
  fsync_seconds_ = registry_.AddHistogram(
      "sluice_storage_fsync_seconds",
      "Duration of each synced (group-committed) LevelDB write",
      Histogram::ExponentialBounds(0.0001, 2, 16), Labels({}));
  leadership_changes_ = registry_.AddCounter(
      "sluice_raft_leadership_changes_total",
      "Leader or role changes seen by this node, all groups", Labels({}));
}

MetricLabels NodeMetrics::Labels(
    std::initializer_list<std::pair<const std::string, std::string>> extra)
    const {
  MetricLabels labels(extra);
  labels["node"] = std::to_string(node_id_);
  return labels;
}

void NodeMetrics::Refresh(
    const std::vector<GroupStatus>& groups,
    const std::vector<PartitionLeaders::Gauges>& partitions,
    const std::map<raft::GroupId, LocalExecutor::Counters>& counters) {
  std::map<std::string, std::set<MetricLabels>> now;
  auto gauge = [&](const char* name, const char* help,
                   const MetricLabels& labels, double value) {
    registry_.AddGauge(name, help, labels)->Set(value);
    now[name].insert(labels);
  };
  for (const GroupStatus& g : groups) {
    const MetricLabels labels =
        Labels({{"group", std::to_string(g.group.value())}, {"kind", g.kind}});
    gauge("sluice_raft_is_leader", "1 if this node leads the group", labels,
          g.role == raft::Role::kLeader ? 1 : 0);
    gauge("sluice_raft_term", "current Raft term", labels,
          static_cast<double>(g.term.value()));
    gauge("sluice_raft_commit_index", "highest committed log index", labels,
          static_cast<double>(g.commit.value()));
    gauge("sluice_raft_applied_lag", "committed but not yet applied entries",
          labels, static_cast<double>(g.commit.value() - g.applied.value()));
    gauge("sluice_raft_quiesced",
          "1 if the group is idle: no ticks, no heartbeats", labels,
          g.quiesced ? 1 : 0);
  }
  for (const PartitionLeaders::Gauges& p : partitions) {
    const MetricLabels labels = Labels(
        {{"queue", p.queue}, {"partition", std::to_string(p.partition)}});
    gauge("sluice_queue_visible_messages", "messages that can be received now",
          labels, static_cast<double>(p.stats.visible));
    gauge("sluice_queue_in_flight_messages", "messages leased to receivers",
          labels, static_cast<double>(p.stats.in_flight));
    gauge("sluice_queue_delayed_messages", "messages not yet visible", labels,
          static_cast<double>(p.stats.delayed));
    gauge("sluice_queue_oldest_message_age_seconds",
          "age of the oldest stored message", labels,
          p.stats.oldest_age.has_value()
              ? absl::ToDoubleSeconds(*p.stats.oldest_age)
              : 0);
    auto it = counters.find(p.group);
    if (it == counters.end()) continue;
    const std::pair<const char*, uint64_t> totals[] = {
        {"sluice_queue_sent_total", it->second.sent},
        {"sluice_queue_received_total", it->second.received},
        {"sluice_queue_deleted_total", it->second.deleted}};
    for (const auto& [name, value] : totals) {
      Counter* c = registry_.AddCounter(
          name, "messages, counted by this node while it leads the partition",
          labels);
      uint64_t& reported = reported_[{p.group.value(), name}];
      if (value > reported) c->Increment(value - reported);
      reported = value;
      now[name].insert(labels);
    }
  }
  for (const auto& [name, sets] : previous_) {
    for (const MetricLabels& labels : sets) {
      if (now[name].count(labels) == 0) registry_.RemoveSeries(name, labels);
    }
  }
  previous_ = std::move(now);
}

}  // namespace sluice::broker
