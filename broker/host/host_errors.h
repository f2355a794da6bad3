// The statuses NodeHost hands to proposers, and the leader hint some carry.
// UNAVAILABLE "not leader" carries the known leader's node id as a status
// payload, so the node layer can redirect (or forward) without parsing text.
// Pure functions; any thread.
#ifndef SLUICE_BROKER_HOST_HOST_ERRORS_H_
#define SLUICE_BROKER_HOST_HOST_ERRORS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "raft/types.h"

namespace sluice::broker {

// Type URL of the payload that holds the leader's node id (decimal text).
inline constexpr absl::string_view kLeaderPayload =
    "type.sluice.dev/sluice.host.Leader";

// Payload with the time after which a retry is worthwhile, decimal
// milliseconds (the gRPC layer sends it as `sluice-retry-after-ms`).
inline constexpr absl::string_view kRetryAfterPayload =
    "sluice.v1/retry-after-ms";
absl::Status WithRetryAfter(absl::Status status, absl::Duration retry_after);

// Marks a status as "the command was not appended anywhere", so the caller
// may retry it elsewhere without risking a duplicate.
inline constexpr absl::string_view kNotProposedPayload =
    "type.sluice.dev/sluice.host.NotProposed";
absl::Status NotProposed(absl::Status status);
bool IsNotProposed(const absl::Status& status);

// UNAVAILABLE: this node does not lead `group`; `leader` may be kNoNode.
// Carries the NotProposed mark.
absl::Status NotLeaderError(raft::GroupId group, raft::NodeId leader);
// UNAVAILABLE: leadership changed before the proposal was applied. The
// command may still be applied by the new leader (outcome unknown).
absl::Status LeadershipLostError(raft::GroupId group, raft::NodeId leader);
// RESOURCE_EXHAUSTED with a retry hint.
absl::Status TooManyProposalsError(raft::GroupId group, size_t pending,
                                   absl::Duration retry_after);
// The leader named by a NotLeaderError / LeadershipLostError, if known.
std::optional<raft::NodeId> LeaderHint(const absl::Status& status);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_HOST_ERRORS_H_
