// Small helpers of the public services: deadlines, queue lookup, waiting
// for a new queue's leaders.
#ifndef SLUICE_BROKER_SERVER_SERVICE_UTIL_H_
#define SLUICE_BROKER_SERVER_SERVICE_UTIL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/api/cluster_view.h"
#include "grpcpp/grpcpp.h"
#include "sluice/v1/types.pb.h"

namespace sluice::broker {

// The call's deadline; InfiniteFuture if the client set none.
absl::Time DeadlineOf(const grpc::ServerContextBase& context);

// The queue named `name`, or INVALID_ARGUMENT (empty name) / NOT_FOUND with
// reason QUEUE_NOT_FOUND.
absl::StatusOr<sluice::internal::QueueRecord> FindQueue(
    const ClusterView& view, const std::string& name,
    const char* field = "queue_name");

// Waits until this node has applied the creation of `queue` and every
// partition of it that this node hosts has a leader. UNAVAILABLE at
// `deadline` (the queue exists anyway and becomes usable shortly).
absl::Status AwaitQueueLeaders(const ClusterView& view, const v1::Queue& queue,
                               absl::Time deadline);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_SERVICE_UTIL_H_
