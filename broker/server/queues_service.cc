// Queue management RPCs and the helpers every Queues RPC shares.
#include "broker/server/queues_service.h"

#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/meta/queue_config.h"
#include "broker/partition/entry_status.h"
#include "broker/server/grpc_status.h"
#include "broker/server/service_util.h"
#include "broker/server/stream_receive.h"

namespace sluice::broker {

using sluice::internal::ForwardRequest;
using sluice::internal::ForwardResponse;
using sluice::internal::ForwardTarget;
using sluice::internal::QueueRecord;

ForwardTarget PartitionTarget(const QueueRecord& queue, uint32_t partition) {
  ForwardTarget target;
  target.set_group_id(queue.partitions(static_cast<int>(partition)).group_id());
  target.set_queue_id(queue.queue_id());
  target.set_partition(partition);
  return target;
}

void QueuesService::FanOut(
    std::vector<ForwardRequest> parts, absl::Time deadline,
    std::function<void(std::vector<RequestRouter::Result>)> done) {
  struct State {
    absl::Mutex mu;
    std::vector<RequestRouter::Result> results;
    size_t left;
    std::function<void(std::vector<RequestRouter::Result>)> done;
  };
  auto state = std::make_shared<State>();
  state->results.resize(parts.size());
  state->left = parts.size();
  state->done = std::move(done);
  if (parts.empty()) return state->done({});
  for (size_t i = 0; i < parts.size(); ++i) {
    router_.Call(std::move(parts[i]), deadline,
                 [state, i](RequestRouter::Result r) {
                   bool last = false;
                   {
                     absl::MutexLock lock(&state->mu);
                     state->results[i] = std::move(r);
                     last = --state->left == 0;
                   }
                   if (last) state->done(std::move(state->results));
                 });
  }
}

bool QueuesService::Refused(Context* context, Reactor* reactor,
                            const absl::Status& refusal) {
  if (refusal.ok()) return false;
  reactor->Finish(ToGrpcStatus(refusal, *context, view_));
  return true;
}

// Creating or changing a queue needs `manage` on it, and on the dead-letter
// queue it names (if any): else anyone could fill another team's DLQ.
static absl::Status CheckManage(const Authenticator& auth,
                                const grpc::ServerContextBase& context,
                                const std::string& queue,
                                const v1::QueueAttributes& attributes) {
  absl::Status s = auth.Check(context, auth::Permission::kManage, queue);
  const std::string& dlq = attributes.redrive_policy().dead_letter_queue_name();
  if (s.ok() && !dlq.empty()) {
    s = auth.Check(context, auth::Permission::kManage, dlq);
  }
  return s;
}

QueuesService::Reactor* QueuesService::CallMetadata(
    Context* context, Reactor* reactor, ForwardRequest request,
    std::function<absl::Status(const ForwardResponse&)> take) {
  request.mutable_target()->set_group_id(kMetadataGroup.value());
  router_.Call(std::move(request), DeadlineOf(*context),
               [this, context, reactor, take](RequestRouter::Result r) {
                 absl::Status s = r.response.status();
                 if (s.ok()) s = take(*r.response);
                 reactor->Finish(ToGrpcStatus(s, *context, view_));
               });
  return reactor;
}

QueuesService::Reactor* QueuesService::CreateQueue(
    Context* context, const v1::CreateQueueRequest* request,
    v1::CreateQueueResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  if (Refused(context, reactor,
              CheckManage(auth_, *context, request->queue_name(),
                          request->attributes()))) {
    return reactor;
  }
  ForwardRequest forward;
  *forward.mutable_create_queue() = *request;
  forward.mutable_target()->set_group_id(kMetadataGroup.value());
  const absl::Time deadline = DeadlineOf(*context);
  router_.Call(
      std::move(forward), deadline,
      [this, context, reactor, response, deadline](RequestRouter::Result r) {
        if (!r.response.ok()) {
          reactor->Finish(ToGrpcStatus(r.response.status(), *context, view_));
          return;
        }
        *response = r.response->create_queue();
        // Usable once its partitions have leaders: wait for that
        // off the caller's thread (rare call, bounded wait).
        std::thread([this, context, reactor, response, deadline] {
          reactor->Finish(ToGrpcStatus(
              AwaitQueueLeaders(
                  view_, response->queue(),
                  std::min(deadline, absl::Now() + absl::Seconds(10))),
              *context, view_));
        }).detach();
      });
  return reactor;
}

QueuesService::Reactor* QueuesService::GetQueue(
    Context* context, const v1::GetQueueRequest* request,
    v1::GetQueueResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  if (Refused(context, reactor,
              auth_.CheckAny(*context, request->queue_name()))) {
    return reactor;
  }
  absl::StatusOr<QueueRecord> queue = FindQueue(view_, request->queue_name());
  if (queue.ok()) {
    *response->mutable_queue() = meta::ToPublicQueue(*queue);
    for (const auto& p : queue->partitions()) {
      v1::PartitionRoute* route = response->add_partition_routes();
      route->set_partition(p.partition());
      route->set_group_id(p.group_id());
      raft::NodeId leader = view_.Leader(raft::GroupId(p.group_id()));
      if (leader != raft::kNoNode) {
        route->set_leader_node_id(leader.value());
        route->set_leader_address(view_.Address(leader));
      }
    }
  }
  reactor->Finish(ToGrpcStatus(queue.status(), *context, view_));
  return reactor;
}

QueuesService::Reactor* QueuesService::ListQueues(
    Context* context, const v1::ListQueuesRequest* request,
    v1::ListQueuesResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  auto finish = [&](const absl::Status& s) {
    reactor->Finish(ToGrpcStatus(s, *context, view_));
    return reactor;
  };
  absl::StatusOr<std::string> principal = auth_.Authenticate(*context);
  if (!principal.ok()) return finish(principal.status());
  if (request->page_size() > 1000) {
    return finish(InvalidField("page_size", "must be at most 1000"));
  }
  const uint32_t page_size =
      request->page_size() == 0 ? 100 : request->page_size();
  // Token: "<prefix length>:<prefix><last name returned>".
  std::string after;
  if (!request->page_token().empty()) {
    const std::string& token = request->page_token();
    const size_t colon = token.find(':');
    size_t length = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(token.substr(0, colon), &length) ||
        token.size() < colon + 1 + length ||
        token.substr(colon + 1, length) != request->prefix()) {
      return finish(InvalidField(
          "page_token",
          "not a token of a ListQueues call with the same prefix"));
    }
    after = token.substr(colon + 1 + length);
  }
  const ClusterView::Metadata metadata = view_.metadata();
  for (const QueueRecord& q : metadata->queues()) {  // sorted by name
    if (q.name().rfind(request->prefix(), 0) != 0) continue;
    if (!after.empty() && q.name() <= after) continue;
    if (!auth_.MaySee(*principal, q.name())) continue;
    if (static_cast<uint32_t>(response->queues_size()) == page_size) {
      const std::string& last =
          response->queues(response->queues_size() - 1).queue_name();
      response->set_next_page_token(
          absl::StrCat(request->prefix().size(), ":", request->prefix(), last));
      break;
    }
    *response->add_queues() = meta::ToPublicQueue(q);
  }
  return finish(absl::OkStatus());
}

QueuesService::Reactor* QueuesService::UpdateQueue(
    Context* context, const v1::UpdateQueueRequest* request,
    v1::UpdateQueueResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  if (Refused(context, reactor,
              CheckManage(auth_, *context, request->queue_name(),
                          request->attributes()))) {
    return reactor;
  }
  ForwardRequest forward;
  *forward.mutable_update_queue() = *request;
  return CallMetadata(context, reactor, std::move(forward),
                      [response](const ForwardResponse& r) {
                        *response = r.update_queue();
                        return absl::OkStatus();
                      });
}

QueuesService::Reactor* QueuesService::DeleteQueue(
    Context* context, const v1::DeleteQueueRequest* request,
    v1::DeleteQueueResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  if (Refused(context, reactor,
              auth_.Check(*context, auth::Permission::kManage,
                          request->queue_name()))) {
    return reactor;
  }
  ForwardRequest forward;
  *forward.mutable_delete_queue() = *request;
  return CallMetadata(context, reactor, std::move(forward),
                      [response](const ForwardResponse& r) {
                        *response = r.delete_queue();
                        return absl::OkStatus();
                      });
}

}  // namespace sluice::broker

namespace sluice::broker {

grpc::ServerBidiReactor<v1::StreamReceiveRequest, v1::StreamReceiveResponse>*
QueuesService::StreamReceive(Context* context) {
  return NewStreamReceive(*this, context);
}

}  // namespace sluice::broker
