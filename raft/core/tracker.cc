#include "raft/core/tracker.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice::raft {
namespace {

std::string JoinIds(const VoterSet& ids) {
  std::vector<uint64_t> raw;
  for (NodeId id : ids) raw.push_back(id.value());
  return absl::StrJoin(raw, ",");
}

void AddIds(const VoterSet& ids,
            google::protobuf::RepeatedField<uint64_t>* out) {
  for (NodeId id : ids) out->Add(id.value());
}

}  // namespace

sluice::internal::raft::ConfState TrackerConfig::ToConfState() const {
  sluice::internal::raft::ConfState cs;
  AddIds(voters, cs.mutable_voters());
  AddIds(voters_outgoing, cs.mutable_voters_outgoing());
  AddIds(learners, cs.mutable_learners());
  AddIds(learners_next, cs.mutable_learners_next());
  cs.set_auto_leave(auto_leave);
  return cs;
}

std::string TrackerConfig::DebugString() const {
  std::string out = absl::StrCat("voters=(", JoinIds(voters), ")");
  if (Joint()) absl::StrAppend(&out, "&&(", JoinIds(voters_outgoing), ")");
  if (!learners.empty()) {
    absl::StrAppend(&out, " learners=(", JoinIds(learners), ")");
  }
  if (!learners_next.empty()) {
    absl::StrAppend(&out, " learners_next=(", JoinIds(learners_next), ")");
  }
  if (auto_leave) absl::StrAppend(&out, " autoleave");
  return out;
}

void ProgressTracker::SetConfig(const TrackerConfig& config, Index next) {
  config_ = config;
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (!config_.IsMember(it->first)) {
      it = progress_.erase(it);
    } else {
      ++it;
    }
  }
  auto ensure = [&](NodeId id, bool learner) {
    auto it = progress_.find(id);
    if (it == progress_.end()) {
      it = progress_
               .emplace(id,
                        Progress(next, max_inflight_msgs_, max_inflight_bytes_))
               .first;
      // A new member counts as active so that adding it does not make the
      // leader step down at the next check-quorum.
      it->second.set_recent_active(true);
    }
    it->second.set_is_learner(learner);
  };
  for (NodeId id : config_.voters) ensure(id, false);
  for (NodeId id : config_.voters_outgoing) ensure(id, false);
  for (NodeId id : config_.learners) ensure(id, true);
  for (NodeId id : config_.learners_next) ensure(id, true);
}

void ProgressTracker::ResetProgress(Index next) {
  progress_.clear();
  SetConfig(config_, next);
}

Progress* ProgressTracker::Find(NodeId id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

Index ProgressTracker::Committed() const {
  return JointCommitted(config_.voters, config_.voters_outgoing,
                        [&](NodeId id) -> std::optional<Index> {
                          auto it = progress_.find(id);
                          if (it == progress_.end()) return std::nullopt;
                          return it->second.match();
                        });
}

bool ProgressTracker::QuorumActive() const {
  return JointVote(config_.voters, config_.voters_outgoing,
                   [&](NodeId id) -> std::optional<bool> {
                     auto it = progress_.find(id);
                     if (it == progress_.end()) return std::nullopt;
                     return it->second.recent_active();
                   }) == VoteResult::kWon;
}

VoteResult ProgressTracker::TallyVotes() const {
  return JointVote(config_.voters, config_.voters_outgoing,
                   [&](NodeId id) -> std::optional<bool> {
                     auto it = votes_.find(id);
                     if (it == votes_.end()) return std::nullopt;
                     return it->second;
                   });
}

}  // namespace sluice::raft
