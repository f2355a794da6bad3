// MetadataOps: queue management on the metadata group's leader — CreateQueue,
// UpdateQueue and DeleteQueue checked against the current metadata, placed
// (CreateQueue) and proposed to the metadata Raft group. Requests and
// responses use the forwarding envelope (transport.proto), like
// LocalExecutor.
//
// Loop thread only (Execute from a posted task; `done` on the loop thread).
#ifndef SLUICE_BROKER_API_METADATA_OPS_H_
#define SLUICE_BROKER_API_METADATA_OPS_H_

#include <functional>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "broker/api/cluster_view.h"
#include "broker/host/node_host.h"
#include "sluice/internal/metadata.pb.h"
#include "sluice/internal/transport.pb.h"

namespace sluice::broker {

// The metadata Raft group's id on every cluster.
inline constexpr raft::GroupId kMetadataGroup{1};

class MetadataOps {
 public:
  using Done =
      std::function<void(absl::StatusOr<sluice::internal::ForwardResponse>)>;

  // `max_queues`: CreateQueue beyond this many queues in the cluster fails
  // with RESOURCE_EXHAUSTED (0: no limit).
  MetadataOps(NodeHost& host, const ClusterView& view, const Clock* wall_clock,
              uint32_t max_queues = 0)
      : host_(host),
        view_(view),
        wall_clock_(wall_clock),
        max_queues_(max_queues) {}

  void Execute(const sluice::internal::ForwardRequest& request, Done done);

 private:
  // The metadata this leader has applied, or UNAVAILABLE (not the leader).
  absl::StatusOr<const sluice::internal::MetadataState*> LeaderState();
  void Propose(
      sluice::internal::MetadataCommand command,
      std::function<void(absl::StatusOr<sluice::internal::QueueRecord>)> done);

  void CreateQueue(const v1::CreateQueueRequest& request, Done done);
  void UpdateQueue(const v1::UpdateQueueRequest& request, Done done);
  void DeleteQueue(const v1::DeleteQueueRequest& request, Done done);

  NodeHost& host_;
  const ClusterView& view_;
  const Clock* wall_clock_;
  const uint32_t max_queues_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_API_METADATA_OPS_H_
