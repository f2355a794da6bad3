// Quorum arithmetic as pure functions (thesis §3.6 majority commit, §4.3 joint
// consensus: a decision needs a majority of BOTH the incoming and the outgoing
// voter sets). No state; callable from anywhere.
#ifndef SLUICE_RAFT_CORE_QUORUM_H_
#define SLUICE_RAFT_CORE_QUORUM_H_

#include <optional>

#include "absl/container/btree_set.h"
#include "absl/functional/function_ref.h"
#include "raft/types.h"

namespace sluice::raft {

using VoterSet = absl::btree_set<NodeId>;

enum class VoteResult { kPending, kLost, kWon };

// Largest index acknowledged by a majority of `voters`. `acked` returns a
// voter's acknowledged index (nullopt: nothing known, counts as 0). An empty
// set returns the maximum index, so that it never limits a joint decision.
Index MajorityCommitted(const VoterSet& voters,
                        absl::FunctionRef<std::optional<Index>(NodeId)> acked);

// `vote` returns true (granted), false (rejected) or nullopt (no answer yet).
// An empty set has won.
VoteResult MajorityVote(const VoterSet& voters,
                        absl::FunctionRef<std::optional<bool>(NodeId)> vote);

// Joint versions: `outgoing` is empty outside a joint configuration.
Index JointCommitted(const VoterSet& incoming, const VoterSet& outgoing,
                     absl::FunctionRef<std::optional<Index>(NodeId)> acked);
VoteResult JointVote(const VoterSet& incoming, const VoterSet& outgoing,
                     absl::FunctionRef<std::optional<bool>(NodeId)> vote);

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_QUORUM_H_
