// absl::Status <-> grpc::Status for the public API, with the error details
// proto/sluice/v1/README.md promises in trailing metadata:
// sluice-error-reason, sluice-error-field, sluice-retry-after-ms,
// sluice-leader and sluice-leader-node-id. Internally the details travel as
// absl::Status payloads (entry_status.h, host_errors.h), so a status that
// crosses a forwarding hop keeps them.
#ifndef SLUICE_BROKER_SERVER_GRPC_STATUS_H_
#define SLUICE_BROKER_SERVER_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "broker/api/cluster_view.h"
#include "grpcpp/grpcpp.h"

namespace sluice::broker {

// Trailing metadata keys.
inline constexpr char kReasonKey[] = "sluice-error-reason";
inline constexpr char kFieldKey[] = "sluice-error-field";
inline constexpr char kRetryAfterKey[] = "sluice-retry-after-ms";
inline constexpr char kLeaderKey[] = "sluice-leader";
inline constexpr char kLeaderNodeKey[] = "sluice-leader-node-id";
// Between nodes only: the request was not proposed (safe to retry).
inline constexpr char kNotProposedKey[] = "sluice-internal-not-proposed";

// Adds the details of `status` to `context`'s trailing metadata (the leader
// hint's address from `view`) and converts it.
grpc::Status ToGrpcStatus(const absl::Status& status,
                          grpc::ServerContextBase& context,
                          const ClusterView& view);

// Adds a leader hint (a request served elsewhere than asked).
void AddLeaderHint(grpc::ServerContextBase& context, const ClusterView& view,
                   raft::NodeId leader);

// The status a peer answered, with its trailing details as payloads.
absl::Status FromGrpcStatus(const grpc::Status& status,
                            const grpc::ClientContext& context);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_GRPC_STATUS_H_
