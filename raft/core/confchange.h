// Membership-change arithmetic (thesis §4.1 single-server changes, §4.3 joint
// consensus, §4.2.1 learners that catch up before voting). Pure functions from
// one TrackerConfig to the next; they validate and never mutate their input.
#ifndef SLUICE_RAFT_CORE_CONFCHANGE_H_
#define SLUICE_RAFT_CORE_CONFCHANGE_H_

#include "absl/status/statusor.h"
#include "raft/core/tracker.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft {

// The configuration a ConfState describes. InvalidArgument if inconsistent.
absl::StatusOr<TrackerConfig> ConfigFromConfState(
    const sluice::internal::raft::ConfState& cs);

// The configuration after `cc`:
//   - no changes: leave the joint configuration (error if not joint);
//   - AUTO with at most one voter added or removed: applied directly;
//   - otherwise: enter a joint configuration (error if already joint), left
//     automatically unless the transition is JOINT_EXPLICIT.
// InvalidArgument when the change is not allowed (e.g. no voters would be
// left, or a single change while joint).
absl::StatusOr<TrackerConfig> NextConfig(
    const TrackerConfig& current, const sluice::internal::raft::ConfChange& cc);

// True when `cc` leaves a joint configuration.
inline bool LeavesJoint(const sluice::internal::raft::ConfChange& cc) {
  return cc.changes_size() == 0;
}

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_CONFCHANGE_H_
