#include "broker/api/partition_leaders.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/logging.h"
#include "broker/host/host_errors.h"
#include "broker/host/queue_partition.h"
#include "broker/partition/entry_status.h"
#include "google/protobuf/util/message_differencer.h"

namespace sluice::broker {

PartitionLeaders::PartitionLeaders(Options options)
    : options_(std::move(options)), host_(options_.host) {}

PartitionLeaders::~PartitionLeaders() { Shutdown(); }

const sluice::internal::QueueRecord* PartitionLeaders::RecordOf(
    raft::GroupId group, uint32_t* partition) const {
  for (const auto& q : metadata_.queues()) {
    for (const auto& p : q.partitions()) {
      if (p.group_id() == group.value()) {
        *partition = p.partition();
        return &q;
      }
    }
  }
  return nullptr;
}

void PartitionLeaders::OnLeaderChange(const GroupStatus& status) {
  if (status.kind != kQueuePartitionKind || shut_down_) return;
  const bool leads = status.role == raft::Role::kLeader;
  if (leads && !Leads(status.group)) Take(status.group);
  if (!leads && (Leads(status.group) || pending_.count(status.group) > 0)) {
    Drop(status.group);
  }
}

void PartitionLeaders::OnMetadata(
    const sluice::internal::MetadataState& state) {
  if (shut_down_) return;
  metadata_ = state;
  // Partitions whose queue went away; and attribute changes.
  std::vector<raft::GroupId> gone;
  for (auto& [group, lead] : leads_) {
    uint32_t partition = 0;
    const auto* record = RecordOf(group, &partition);
    if (record == nullptr) {
      gone.push_back(group);
      continue;
    }
    lead->record = *record;
    if (record->updated_micros() != lead->configured_version) {
      Configure(*lead);
    }
  }
  for (raft::GroupId g : gone) Drop(g);
  // Leaderships that came before this node saw the queue.
  std::vector<raft::GroupId> pending;
  for (const auto& [group, unused] : pending_) pending.push_back(group);
  for (raft::GroupId g : pending) {
    pending_.erase(g);
    Take(g);
  }
}

void PartitionLeaders::Take(raft::GroupId group) {
  uint32_t partition = 0;
  const auto* record = RecordOf(group, &partition);
  NodeHost* host = host_.load();
  auto* replica =
      host == nullptr
          ? nullptr
          : dynamic_cast<QueuePartition*>(host->LocalStateMachine(group));
  if (record == nullptr || replica == nullptr) {
    pending_[group] = true;
    return;
  }
  auto lead = std::make_unique<Lead>();
  lead->group = group;
  lead->queue_id = record->queue_id();
  lead->partition = partition;
  lead->partition_count = static_cast<uint32_t>(record->partitions_size());
  lead->record = *record;
  lead->queue = &replica->queue();
  lead->proposer = std::make_unique<HostProposer>(*host, group);
  PartitionOpsOptions ops;
  ops.queue_id = record->queue_id();
  ops.partition = partition;
  ops.wall_clock = options_.wall_clock;
  ops.clock = options_.clock;
  ops.move_sender = move_sender_.load() != nullptr ? move_sender_.load()
                                                   : options_.move_sender;
  lead->ops = std::make_unique<PartitionOps>(*lead->queue, *lead->proposer,
                                             std::move(ops));
  // A replica that already applied these attributes (an earlier leader
  // committed them) serves at once: no write on the failover path.
  if (google::protobuf::util::MessageDifferencer::Equals(
          lead->queue->attributes(), record->attributes())) {
    lead->configured = true;
    lead->configured_version = record->updated_micros();
  }
  Lead& ref = *lead;
  leads_[group] = std::move(lead);
  SLUICE_LOG(INFO) << "leading partition " << partition << " of queue '"
                   << record->name() << "' (group " << group.value() << ")";
  if (!ref.configured) Configure(ref);
}

void PartitionLeaders::Drop(raft::GroupId group) {
  pending_.erase(group);
  if (leads_.erase(group) > 0) {
    SLUICE_LOG(INFO) << "no longer leading group " << group.value();
  }
  WakeAll(group, false);
  RunWhenReady(group);
}

bool PartitionLeaders::Starting(raft::GroupId group) const {
  auto it = leads_.find(group);
  return (it != leads_.end() && !it->second->configured) ||
         pending_.count(group) > 0;
}

void PartitionLeaders::WhenReady(raft::GroupId group,
                                 std::function<void()> fn) {
  if (shut_down_ || !Starting(group)) return fn();
  when_ready_[group].push_back(std::move(fn));
}

void PartitionLeaders::RunWhenReady(raft::GroupId group) {
  auto it = when_ready_.find(group);
  if (it == when_ready_.end()) return;
  std::vector<std::function<void()>> ready = std::move(it->second);
  when_ready_.erase(it);
  for (auto& fn : ready) fn();
}

void PartitionLeaders::Configure(Lead& lead) {
  if (lead.config_in_flight) return;  // re-checked when it completes
  lead.config_in_flight = true;
  const int64_t version = lead.record.updated_micros();
  internal::Command command;
  command.set_log_time_micros(absl::ToUnixMicros(options_.wall_clock->Now()));
  internal::SetQueueAttributes* set = command.mutable_set_attributes();
  *set->mutable_attributes() = lead.record.attributes();
  set->set_clear_redrive_policy(!lead.record.attributes().has_redrive_policy());
  set->set_clear_retry_backoff(!lead.record.attributes().has_retry_backoff());
  const raft::GroupId group = lead.group;
  std::weak_ptr<bool> alive = alive_;
  lead.proposer->Propose(
      std::move(command),
      [this, alive, group, version](absl::StatusOr<ApplyResult> result) {
        if (alive.expired()) return;
        auto it = leads_.find(group);
        if (it == leads_.end()) return;
        Lead& l = *it->second;
        l.config_in_flight = false;
        if (!result.ok() || !result->status.ok()) {
          const absl::Status s = result.ok() ? result->status : result.status();
          SLUICE_LOG(WARNING) << "group " << group.value()
                              << ": setting the queue attributes failed: " << s;
          // Leadership lost: Drop follows. Otherwise the next tick retries.
          return;
        }
        l.configured = true;
        l.configured_version = version;
        if (l.record.updated_micros() != version) Configure(l);
        WakeAll(group, true);
        RunWhenReady(group);
      });
}

absl::StatusOr<PartitionLeaders::Lead*> PartitionLeaders::Find(
    raft::GroupId group) {
  auto it = leads_.find(group);
  if (it == leads_.end()) {
    NodeHost* host = host_.load();
    std::optional<GroupStatus> status =
        host == nullptr ? std::nullopt : host->StatusOf(group);
    if (!status.has_value()) {
      return NotProposed(WithReason(
          absl::UnavailableError(absl::StrCat("group ", group.value(),
                                              " is not hosted on this node")),
          v1::ERROR_REASON_NOT_LEADER));
    }
    return WithReason(NotLeaderError(group, status->leader),
                      status->leader == raft::kNoNode
                          ? v1::ERROR_REASON_NO_LEADER
                          : v1::ERROR_REASON_NOT_LEADER);
  }
  if (!it->second->configured) {
    return NotProposed(WithReason(
        absl::UnavailableError(absl::StrCat(
            "group ", group.value(),
            ": the new leader is still committing the queue's attributes")),
        v1::ERROR_REASON_NO_LEADER));
  }
  return it->second.get();
}

void PartitionLeaders::Wait(raft::GroupId group, absl::Time deadline,
                            std::function<void(bool)> wake) {
  if (shut_down_ || !Leads(group)) {
    wake(false);
    return;
  }
  waiters_[group].push_back({deadline, std::move(wake)});
}

void PartitionLeaders::Notify(raft::GroupId group) {
  if (waiters_.count(group) > 0) WakeAll(group, true);
}

void PartitionLeaders::WakeAll(raft::GroupId group, bool maybe_visible) {
  auto it = waiters_.find(group);
  if (it == waiters_.end()) return;
  std::vector<Waiter> waiters = std::move(it->second);
  waiters_.erase(it);
  for (Waiter& w : waiters) w.wake(maybe_visible);
}

void PartitionLeaders::Tick() {
  if (shut_down_) return;
  if (!pending_.empty()) {
    std::vector<raft::GroupId> pending;
    for (const auto& [group, unused] : pending_) pending.push_back(group);
    for (raft::GroupId g : pending) {
      pending_.erase(g);
      Take(g);
    }
  }
  for (auto& [group, lead] : leads_) {
    if (!lead->configured) {
      if (!lead->config_in_flight) Configure(*lead);
      continue;
    }
    lead->ops->Tick();
  }
  const absl::Time now = options_.clock->Now();
  std::vector<raft::GroupId> groups;
  for (const auto& [group, unused] : waiters_) groups.push_back(group);
  for (raft::GroupId group : groups) {
    auto lead = leads_.find(group);
    if (lead != leads_.end() && lead->second->configured &&
        lead->second->ops->HasVisible()) {
      WakeAll(group, true);
      continue;
    }
    auto it = waiters_.find(group);
    if (it == waiters_.end()) continue;
    std::vector<Waiter> expired;
    auto& list = it->second;
    for (size_t i = 0; i < list.size();) {
      if (list[i].deadline <= now) {
        expired.push_back(std::move(list[i]));
        list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    if (list.empty()) waiters_.erase(it);
    for (Waiter& w : expired) w.wake(false);
  }
}

void PartitionLeaders::Rebalance(absl::Duration min_gap) {
  NodeHost* host = host_.load();
  if (shut_down_ || host == nullptr) return;
  const absl::Time now = options_.clock->Now();
  for (auto& [group, lead] : leads_) {
    if (!lead->configured || now - lead->last_transfer < min_gap) continue;
    const auto& placement =
        lead->record.partitions(static_cast<int>(lead->partition));
    const raft::NodeId preferred(placement.preferred_leader());
    if (preferred == raft::kNoNode || preferred == host->node_id()) continue;
    std::optional<GroupStatus> status = host->StatusOf(group);
    if (!status.has_value() || status->role != raft::Role::kLeader) continue;
    bool ready = false;
    for (const ReplicaProgress& p : status->progress) {
      ready |= p.node == preferred && p.recent_active &&
               p.match == status->last_index;
    }
    if (!ready) continue;
    lead->last_transfer = now;
    SLUICE_LOG(INFO) << "group " << group.value()
                     << ": handing leadership back to its preferred leader, "
                     << "node " << preferred.value();
    host->TransferLeadership(group, preferred, [](absl::Status) {});
  }
}

void PartitionLeaders::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [group, list] : waiters) {
    for (Waiter& w : list) w.wake(false);
  }
  leads_.clear();
  pending_.clear();
  auto ready = std::move(when_ready_);
  when_ready_.clear();
  for (auto& [group, list] : ready) {
    for (auto& fn : list) fn();
  }
}

std::vector<PartitionLeaders::Gauges> PartitionLeaders::CollectGauges(
    absl::Time wall_now) {
  std::vector<Gauges> out;
  for (const auto& [group, lead] : leads_) {
    if (!lead->configured) continue;
    out.push_back({group, lead->record.name(), lead->partition,
                   lead->queue->Stats(wall_now)});
  }
  return out;
}

}  // namespace sluice::broker
