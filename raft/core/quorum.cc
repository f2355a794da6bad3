#include "raft/core/quorum.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <vector>

namespace sluice::raft {

Index MajorityCommitted(const VoterSet& voters,
                        absl::FunctionRef<std::optional<Index>(NodeId)> acked) {
  if (voters.empty()) return Index(std::numeric_limits<uint64_t>::max());
  std::vector<Index> indexes;
  indexes.reserve(voters.size());
  for (NodeId id : voters) indexes.push_back(acked(id).value_or(Index(0)));
  std::sort(indexes.begin(), indexes.end(), std::greater<Index>());
  // With n voters, the (n/2 + 1)-th highest index is held by a majority.
  return indexes[voters.size() / 2];
}

VoteResult MajorityVote(const VoterSet& voters,
                        absl::FunctionRef<std::optional<bool>(NodeId)> vote) {
  if (voters.empty()) return VoteResult::kWon;
  size_t granted = 0;
  size_t missing = 0;
  for (NodeId id : voters) {
    std::optional<bool> v = vote(id);
    if (!v.has_value()) {
      ++missing;
    } else if (*v) {
      ++granted;
    }
  }
  const size_t quorum = voters.size() / 2 + 1;
  if (granted >= quorum) return VoteResult::kWon;
  if (granted + missing >= quorum) return VoteResult::kPending;
  return VoteResult::kLost;
}

Index JointCommitted(const VoterSet& incoming, const VoterSet& outgoing,
                     absl::FunctionRef<std::optional<Index>(NodeId)> acked) {
  return std::min(MajorityCommitted(incoming, acked),
                  MajorityCommitted(outgoing, acked));
}

VoteResult JointVote(const VoterSet& incoming, const VoterSet& outgoing,
                     absl::FunctionRef<std::optional<bool>(NodeId)> vote) {
  VoteResult a = MajorityVote(incoming, vote);
  VoteResult b = MajorityVote(outgoing, vote);
  if (a == b) return a;
  if (a == VoteResult::kLost || b == VoteResult::kLost)
    return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace sluice::raft
