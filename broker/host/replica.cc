#include "broker/host/replica.h"

#include <utility>

#include "base/logging.h"
#include "broker/host/host_errors.h"
#include "broker/queue/state_write_batch.h"

namespace sluice::broker {

using sluice::internal::raft::ConfChange;
using sluice::internal::raft::ENTRY_TYPE_CONF_CHANGE;

Replica::Replica(raft::GroupId group, std::string kind,
                 std::unique_ptr<ReplicaStateMachine> sm,
                 raft::LevelDbLogStorage* storage)
    : group_(group),
      kind_(std::move(kind)),
      sm_(std::move(sm)),
      storage_(storage) {}

absl::Status Replica::Start(raft::Config config, uint64_t seed) {
  absl::StatusOr<raft::InitialState> initial = storage_->GetInitialState();
  if (!initial.ok()) return initial.status();
  absl::StatusOr<SnapshotMetadata> meta = storage_->SnapshotMetadata();
  if (!meta.ok()) return meta.status();
  conf_state_ = initial->conf_state;
  applied_ = raft::Index(meta->index());
  applied_term_ = raft::Term(meta->term());
  snapshot_index = applied_;
  durable_applied = applied_;

  random_ = std::make_unique<Random>(seed);
  config.group = group_;
  config.random = random_.get();
  config.applied = applied_;
  absl::StatusOr<std::unique_ptr<raft::RawNode>> raw =
      raft::RawNode::Create(config, storage_);
  if (!raw.ok()) return raw.status();
  raw_ = *std::move(raw);
  last_soft = raw_->raft().soft_state();
  return absl::OkStatus();
}

bool Replica::is_leader() const {
  return raw_ != nullptr && raw_->raft().role() == raft::Role::kLeader;
}

void Replica::ApplyCommitted(const std::vector<Entry>& entries) {
  LevelDbWriteBatch batch(&sm_batch);
  const absl::Status overwritten =
      LeadershipLostError(group_, raw_->raft().lead());
  for (const Entry& entry : entries) {
    const raft::Index index(entry.index());
    if (index <= applied_) continue;  // covered by a restored snapshot
    SLUICE_CHECK(index == applied_ + 1)
        << "group " << group_.value() << " term " << raw_->raft().term().value()
        << " applies index " << index.value() << " after " << applied_.value();
    std::any result;
    if (entry.type() == ENTRY_TYPE_CONF_CHANGE) {
      // The leader proposes only changes that parse and apply; anything else
      // came from a faulty leader. Every replica skips it alike (same entry,
      // same membership), rather than crash, and crash again at every restart
      // when the entry is applied again.
      ConfChange cc;
      absl::StatusOr<sluice::internal::raft::ConfState> cs =
          cc.ParseFromString(entry.data())
              ? raw_->ApplyConfChange(cc)
              : absl::InvalidArgumentError("unreadable conf change");
      if (cs.ok()) {
        conf_state_ = *std::move(cs);
      } else {
        SLUICE_LOG(ERROR) << "group " << group_.value() << " term "
                          << entry.term() << " index " << index.value()
                          << ": conf change skipped: " << cs.status();
      }
    } else if (!entry.data().empty() && index > sm_->LastApplied()) {
      result = sm_->Apply(index, entry.data(), batch);
    }
    applied_ = index;
    applied_term_ = raft::Term(entry.term());
    proposals_.OnApplied(index, applied_term_, result, overwritten, &waiting);
  }
}

void Replica::FinishRestore(const SnapshotMetadata& meta) {
  absl::Status s = sm_->FinishRestore();
  SLUICE_CHECK(s.ok()) << "group " << group_.value() << " restoring snapshot "
                       << meta.index() << ": " << s;
  conf_state_ = meta.conf_state();
  applied_ = raft::Index(meta.index());
  applied_term_ = raft::Term(meta.term());
  if (durable_applied < applied_) durable_applied = applied_;
}

std::optional<Replica::SnapshotMetadata> Replica::CompactionDue(
    uint64_t compact_after) const {
  if (applied_ <= snapshot_index ||
      applied_.value() - snapshot_index.value() < compact_after) {
    return std::nullopt;
  }
  SnapshotMetadata meta;
  *meta.mutable_conf_state() = conf_state_;
  meta.set_index(applied_.value());
  meta.set_term(applied_term_.value());
  return meta;
}

void Replica::FailStaleProposals(absl::Time now, absl::Duration grace,
                                 std::vector<Resolved>* out) {
  if (proposals_.size() == 0 ||
      !proposals_.HasStale(is_leader(), raw_->raft().term())) {
    stale_since_.reset();
    return;
  }
  if (!stale_since_.has_value()) stale_since_ = now;
  if (now - *stale_since_ < grace) return;
  proposals_.FailStale(is_leader(), raw_->raft().term(),
                       LeadershipLostError(group_, raw_->raft().lead()), out);
  stale_since_.reset();
}

GroupStatus Replica::Status() const {
  GroupStatus s;
  s.group = group_;
  s.kind = kind_;
  s.applied = applied_;
  s.durable_applied = durable_applied;
  s.snapshot_index = snapshot_index;
  s.pending_proposals = proposals_.size();
  s.conf_state = conf_state_;
  if (raw_ != nullptr) {
    const raft::Raft& r = raw_->raft();
    s.role = r.role();
    s.leader = r.lead();
    s.term = r.term();
    s.commit = r.log().committed();
    s.last_index = r.log().LastIndex();
    s.quiesced = r.quiesced();
    if (r.role() == raft::Role::kLeader) {
      for (const auto& [node, pr] : r.tracker().progress()) {
        s.progress.push_back({node, pr.match(), static_cast<int>(pr.state()),
                              pr.recent_active()});
      }
    }
  }
  return s;
}

}  // namespace sluice::broker
