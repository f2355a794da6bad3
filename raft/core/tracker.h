// ProgressTracker: the membership configuration in force plus the leader's
// Progress for every member and the votes of the current election. Owned by
// the Raft core; single-threaded.
#ifndef SLUICE_RAFT_CORE_TRACKER_H_
#define SLUICE_RAFT_CORE_TRACKER_H_

#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "raft/core/progress.h"
#include "raft/core/quorum.h"
#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft {

// A membership configuration (thesis §4). Outside a joint configuration
// `voters_outgoing` is empty. `learners_next` are voters of the outgoing set
// that become learners when the joint configuration is left (a node cannot be
// a learner and a voter at once).
struct TrackerConfig {
  VoterSet voters;
  VoterSet voters_outgoing;
  VoterSet learners;
  VoterSet learners_next;
  bool auto_leave = false;

  bool Joint() const { return !voters_outgoing.empty(); }
  bool IsVoter(NodeId id) const {
    return voters.contains(id) || voters_outgoing.contains(id);
  }
  bool IsMember(NodeId id) const {
    return IsVoter(id) || learners.contains(id) || learners_next.contains(id);
  }
  sluice::internal::raft::ConfState ToConfState() const;
  std::string DebugString() const;
  bool operator==(const TrackerConfig&) const = default;
};

class ProgressTracker {
 public:
  ProgressTracker(size_t max_inflight_msgs, uint64_t max_inflight_bytes)
      : max_inflight_msgs_(max_inflight_msgs),
        max_inflight_bytes_(max_inflight_bytes) {}

  // Switches to `config`; members new to it get a Progress with `next`,
  // members that left lose theirs.
  void SetConfig(const TrackerConfig& config, Index next);
  // Forgets every Progress and recreates them (a new leader, thesis §3.5).
  void ResetProgress(Index next);

  const TrackerConfig& config() const { return config_; }
  absl::btree_map<NodeId, Progress>& progress() { return progress_; }
  const absl::btree_map<NodeId, Progress>& progress() const {
    return progress_;
  }
  Progress* Find(NodeId id);

  // Highest index a quorum (joint if need be) has acknowledged.
  Index Committed() const;
  // True when a quorum has been recently active (check-quorum, §6.2).
  bool QuorumActive() const;

  void ResetVotes() { votes_.clear(); }
  void RecordVote(NodeId id, bool granted) { votes_.emplace(id, granted); }
  VoteResult TallyVotes() const;

 private:
  size_t max_inflight_msgs_;
  uint64_t max_inflight_bytes_;
  TrackerConfig config_;
  absl::btree_map<NodeId, Progress> progress_;
  absl::btree_map<NodeId, bool> votes_;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_TRACKER_H_
