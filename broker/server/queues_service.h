// The public Queues service (proto/sluice/v1/queues.proto) on every node,
// with gRPC's callback API so that no thread waits for Raft. Each call is
// resolved against the metadata this node holds, split by partition, and
// each part runs at its partition's leader through the RequestRouter (here,
// or one hop away); the parts' answers are merged in request order.
// Responses served elsewhere carry leader hints in trailing metadata.
//
// Queue reads (GetQueue, ListQueues) answer from this node's metadata
// replica, which may lag the metadata leader by a moment.
#ifndef SLUICE_BROKER_SERVER_QUEUES_SERVICE_H_
#define SLUICE_BROKER_SERVER_QUEUES_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "broker/api/cluster_view.h"
#include "broker/server/authenticator.h"
#include "broker/server/request_router.h"
#include "sluice/v1/queues.grpc.pb.h"

namespace sluice::broker {

// The forwarding envelope's target for one partition of `queue`.
sluice::internal::ForwardTarget PartitionTarget(
    const sluice::internal::QueueRecord& queue, uint32_t partition);

class QueuesService final : public v1::Queues::CallbackService {
 public:
  // `auth` decides who may call what (authenticator.h); it outlives this.
  QueuesService(ClusterView& view, RequestRouter& router,
                const Authenticator& auth)
      : view_(view), router_(router), auth_(auth) {}

  using Context = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;

  Reactor* CreateQueue(Context* context, const v1::CreateQueueRequest* request,
                       v1::CreateQueueResponse* response) override;
  Reactor* GetQueue(Context* context, const v1::GetQueueRequest* request,
                    v1::GetQueueResponse* response) override;
  Reactor* ListQueues(Context* context, const v1::ListQueuesRequest* request,
                      v1::ListQueuesResponse* response) override;
  Reactor* UpdateQueue(Context* context, const v1::UpdateQueueRequest* request,
                       v1::UpdateQueueResponse* response) override;
  Reactor* DeleteQueue(Context* context, const v1::DeleteQueueRequest* request,
                       v1::DeleteQueueResponse* response) override;
  Reactor* PurgeQueue(Context* context, const v1::PurgeQueueRequest* request,
                      v1::PurgeQueueResponse* response) override;
  Reactor* Send(Context* context, const v1::SendRequest* request,
                v1::SendResponse* response) override;
  Reactor* Receive(Context* context, const v1::ReceiveRequest* request,
                   v1::ReceiveResponse* response) override;
  grpc::ServerBidiReactor<v1::StreamReceiveRequest, v1::StreamReceiveResponse>*
  StreamReceive(Context* context) override;
  Reactor* Delete(Context* context, const v1::DeleteRequest* request,
                  v1::DeleteResponse* response) override;
  Reactor* ChangeVisibility(Context* context,
                            const v1::ChangeVisibilityRequest* request,
                            v1::ChangeVisibilityResponse* response) override;
  Reactor* Peek(Context* context, const v1::PeekRequest* request,
                v1::PeekResponse* response) override;
  Reactor* StartRedrive(Context* context,
                        const v1::StartRedriveRequest* request,
                        v1::StartRedriveResponse* response) override;
  Reactor* ListRedriveTasks(Context* context,
                            const v1::ListRedriveTasksRequest* request,
                            v1::ListRedriveTasksResponse* response) override;
  Reactor* CancelRedrive(Context* context,
                         const v1::CancelRedriveRequest* request,
                         v1::CancelRedriveResponse* response) override;
  Reactor* GetQueueStats(Context* context,
                         const v1::GetQueueStatsRequest* request,
                         v1::GetQueueStatsResponse* response) override;

  // Shared by the unary Receive and StreamReceive: leases up to
  // request.max_messages from the request's partitions (all if none), long
  // polling up to its wait_time. Thread-safe; `done` on any thread.
  void ReceiveFrom(
      const sluice::internal::QueueRecord& queue,
      const v1::ReceiveRequest& request, absl::Time deadline,
      std::shared_ptr<std::atomic<bool>> cancelled,
      std::function<void(absl::StatusOr<v1::ReceiveResponse>)> done);
  // Ack, nack or extend items of a stream, split by partition.
  void StreamItem(const sluice::internal::QueueRecord& queue,
                  const v1::StreamReceiveRequest& item, absl::Time deadline,
                  std::function<void(v1::StreamItemResult)> done);

  // Gives leased messages of `partition` back at once (a long poll that
  // found them after its caller had gone).
  void Release(const sluice::internal::QueueRecord& queue, uint32_t partition,
               std::vector<v1::Message> messages);

  ClusterView& view() { return view_; }
  const Authenticator& auth() const { return auth_; }
  uint64_t NextStreamId() { return stream_ids_.fetch_add(1) + 1; }

 private:
  // Runs `parts` (one per partition) and hands back their results in order.
  void FanOut(std::vector<sluice::internal::ForwardRequest> parts,
              absl::Time deadline,
              std::function<void(std::vector<RequestRouter::Result>)> done);
  template <typename Request, typename Response, typename PartOf>
  Reactor* ReceiptBatch(Context* context, const Request* request,
                        Response* response, PartOf part_of);
  // One request per partition of `queue`, filled by `fill`.
  template <typename Fill>
  static std::vector<sluice::internal::ForwardRequest> EveryPartition(
      const sluice::internal::QueueRecord& queue, Fill fill) {
    std::vector<sluice::internal::ForwardRequest> parts;
    for (uint32_t p = 0; p < static_cast<uint32_t>(queue.partitions_size());
         ++p) {
      sluice::internal::ForwardRequest f;
      *f.mutable_target() = PartitionTarget(queue, p);
      fill(f);
      parts.push_back(std::move(f));
    }
    return parts;
  }
  // A request for the metadata group (at its leader).
  // Returns the call's reactor (gRPC's DefaultReactor() may be asked for
  // only once: asking again re-creates it, forgetting a Finish).
  Reactor* CallMetadata(
      Context* context, Reactor* reactor,
      sluice::internal::ForwardRequest request,
      std::function<absl::Status(const sluice::internal::ForwardResponse&)>
          take);

  // Finishes the call with `refusal` unless it is OK; true then.
  bool Refused(Context* context, Reactor* reactor, const absl::Status& refusal);

  ClusterView& view_;
  RequestRouter& router_;
  const Authenticator& auth_;
  std::atomic<uint64_t> round_robin_{0};
  std::atomic<uint64_t> stream_ids_{0};
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_QUEUES_SERVICE_H_
