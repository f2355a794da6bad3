#include "raft/core/confchange.h"

#include "absl/strings/str_cat.h"

namespace sluice::raft {
namespace {

using sluice::internal::raft::ConfChange;
using sluice::internal::raft::ConfChangeSingle;

absl::Status Check(const TrackerConfig& c) {
  for (NodeId id : c.learners) {
    if (c.IsVoter(id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("node ", id.value(), " is both voter and learner"));
    }
  }
  for (NodeId id : c.learners_next) {
    if (!c.voters_outgoing.contains(id)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node ", id.value(), " in learners_next is not an outgoing voter"));
    }
  }
  if (!c.Joint() && (!c.learners_next.empty() || c.auto_leave)) {
    return absl::InvalidArgumentError(
        "learners_next or auto_leave outside a joint configuration");
  }
  return absl::OkStatus();
}

absl::Status ApplyChanges(
    TrackerConfig& c,
    const google::protobuf::RepeatedPtrField<ConfChangeSingle>& changes) {
  for (const ConfChangeSingle& ch : changes) {
    NodeId id(ch.node_id());
    if (id == kNoNode) {
      return absl::InvalidArgumentError("conf change names node 0");
    }
    switch (ch.type()) {
      case sluice::internal::raft::CONF_CHANGE_TYPE_ADD_VOTER:
        c.learners.erase(id);
        c.learners_next.erase(id);
        c.voters.insert(id);
        break;
      case sluice::internal::raft::CONF_CHANGE_TYPE_ADD_LEARNER:
        c.voters.erase(id);
        c.learners.erase(id);
        c.learners_next.erase(id);
        // Still an outgoing voter: becomes a learner when the joint
        // configuration is left.
        if (c.voters_outgoing.contains(id)) {
          c.learners_next.insert(id);
        } else {
          c.learners.insert(id);
        }
        break;
      case sluice::internal::raft::CONF_CHANGE_TYPE_REMOVE:
        c.voters.erase(id);
        c.learners.erase(id);
        c.learners_next.erase(id);
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("unknown conf change type ", ch.type()));
    }
  }
  if (c.voters.empty()) {
    return absl::InvalidArgumentError("conf change removes all voters");
  }
  return absl::OkStatus();
}

size_t SymmetricDifference(const VoterSet& a, const VoterSet& b) {
  size_t n = 0;
  for (NodeId id : a) n += b.contains(id) ? 0 : 1;
  for (NodeId id : b) n += a.contains(id) ? 0 : 1;
  return n;
}

}  // namespace

absl::StatusOr<TrackerConfig> ConfigFromConfState(
    const sluice::internal::raft::ConfState& cs) {
  TrackerConfig c;
  for (uint64_t id : cs.voters()) c.voters.insert(NodeId(id));
  for (uint64_t id : cs.voters_outgoing()) c.voters_outgoing.insert(NodeId(id));
  for (uint64_t id : cs.learners()) c.learners.insert(NodeId(id));
  for (uint64_t id : cs.learners_next()) c.learners_next.insert(NodeId(id));
  c.auto_leave = cs.auto_leave();
  absl::Status s = Check(c);
  if (!s.ok()) return s;
  return c;
}

absl::StatusOr<TrackerConfig> NextConfig(const TrackerConfig& current,
                                         const ConfChange& cc) {
  TrackerConfig next = current;
  if (LeavesJoint(cc)) {
    if (!current.Joint()) {
      return absl::InvalidArgumentError(
          "cannot leave a joint configuration: not in one");
    }
    for (NodeId id : next.learners_next) next.learners.insert(id);
    next.learners_next.clear();
    next.voters_outgoing.clear();
    next.auto_leave = false;
  } else {
    if (current.Joint()) {
      return absl::InvalidArgumentError(
          "configuration is joint: leave it before another change");
    }
    bool simple =
        cc.transition() == sluice::internal::raft::CONF_CHANGE_TRANSITION_AUTO;
    if (simple) {
      TrackerConfig probe = current;
      absl::Status s = ApplyChanges(probe, cc.changes());
      if (!s.ok()) return s;
      simple = SymmetricDifference(current.voters, probe.voters) <= 1;
      if (simple) next = probe;
    }
    if (!simple) {
      next.voters_outgoing = current.voters;
      absl::Status s = ApplyChanges(next, cc.changes());
      if (!s.ok()) return s;
      next.auto_leave =
          cc.transition() !=
          sluice::internal::raft::CONF_CHANGE_TRANSITION_JOINT_EXPLICIT;
    }
  }
  absl::Status s = Check(next);
  if (!s.ok()) return s;
  return next;
}

}  // namespace sluice::raft
