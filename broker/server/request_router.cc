#include "broker/server/request_router.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "broker/host/host_errors.h"
#include "broker/partition/entry_status.h"
#include "broker/server/grpc_status.h"

namespace sluice::broker {
namespace {

using sluice::internal::ForwardRequest;
using sluice::internal::ForwardResponse;

constexpr uint32_t kProtocolVersion = 1;
// Forwarded calls without a client deadline still end.
constexpr absl::Duration kMaxForwardTime = absl::Seconds(60);

// Only "this node does not lead the group" proves that nothing was done, so
// only it is retried at the named leader (a lost leadership mid-proposal is
// not: the command may still be applied).
bool RetryableAtLeader(const absl::Status& status) {
  if (!absl::IsUnavailable(status)) return false;
  const v1::ErrorReason reason = ReasonOf(status);
  return reason == v1::ERROR_REASON_NOT_LEADER && LeaderHint(status);
}

}  // namespace

RequestRouter::RequestRouter(Options options) : options_(std::move(options)) {}

raft::NodeId RequestRouter::Guess(raft::GroupId group) const {
  const ClusterView::Metadata metadata = options_.view->metadata();
  for (const auto& q : metadata->queues()) {
    for (const auto& p : q.partitions()) {
      if (p.group_id() != group.value()) continue;
      for (uint64_t replica : p.replicas()) {
        if (replica == options_.view->self().value()) return raft::kNoNode;
      }
      return raft::NodeId(p.preferred_leader());
    }
  }
  return raft::kNoNode;
}

void RequestRouter::Call(ForwardRequest request, absl::Time deadline, Done done,
                         std::shared_ptr<std::atomic<bool>> cancelled) {
  const raft::GroupId group(request.target().group_id());
  const raft::NodeId self = options_.view->self();
  raft::NodeId leader = options_.view->Leader(group);
  if (leader == raft::kNoNode) leader = Guess(group);
  if (leader != raft::kNoNode && leader != self) {
    return Forward(std::move(request), leader, deadline, /*may_retry=*/true,
                   std::move(done));
  }
  ForwardRequest copy = request;
  RunLocal(
      std::move(request), deadline,
      [this, copy = std::move(copy), deadline, done, self,
       cancelled](absl::StatusOr<ForwardResponse> r) mutable {
        if (!r.ok() && RetryableAtLeader(r.status()) &&
            *LeaderHint(r.status()) != self) {
          return Forward(std::move(copy), *LeaderHint(r.status()), deadline,
                         /*may_retry=*/false, done);
        }
        done({std::move(r), self});
      },
      std::move(cancelled));
}

void RequestRouter::RunLocal(
    ForwardRequest request, absl::Time deadline,
    std::function<void(absl::StatusOr<ForwardResponse>)> done,
    std::shared_ptr<std::atomic<bool>> cancelled) {
  const absl::Duration budget =
      std::max(absl::ZeroDuration(), deadline - absl::Now());
  options_.host->Post([this, request = std::move(request), budget,
                       done = std::move(done),
                       cancelled = std::move(cancelled)]() mutable {
    if (request.target().group_id() == kMetadataGroup.value()) {
      return options_.metadata->Execute(request, std::move(done));
    }
    options_.executor->Execute(request, budget, std::move(done),
                               std::move(cancelled));
  });
}

std::shared_ptr<sluice::internal::RaftTransport::Stub> RequestRouter::StubFor(
    raft::NodeId node) {
  absl::MutexLock lock(&mu_);
  auto& stub = stubs_[node.value()];
  if (stub == nullptr) {
    const std::string address = options_.view->Address(node);
    if (address.empty()) return nullptr;
    stub = sluice::internal::RaftTransport::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  return stub;
}

void RequestRouter::Forward(ForwardRequest request, raft::NodeId to,
                            absl::Time deadline, bool may_retry, Done done) {
  auto stub = StubFor(to);
  if (stub == nullptr) {
    return done({WithReason(absl::UnavailableError(absl::StrCat(
                                "no address known for node ", to.value())),
                            v1::ERROR_REASON_NOT_LEADER),
                 to});
  }
  struct Call {
    grpc::ClientContext context;
    ForwardRequest request;
    ForwardResponse response;
  };
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  auto* header = call->request.mutable_header();
  header->set_cluster_id(options_.cluster_id);
  header->set_from_node_id(options_.view->self().value());
  header->set_to_node_id(to.value());
  header->set_protocol_version(kProtocolVersion);
  call->request.mutable_target()->set_hop_count(1);
  call->context.set_deadline(
      absl::ToChronoTime(std::min(deadline, absl::Now() + kMaxForwardTime)));
  stub->async()->Forward(
      &call->context, &call->request, &call->response,
      [this, call, to, deadline, may_retry, done](grpc::Status status) {
        absl::Status s = FromGrpcStatus(status, call->context);
        if (s.ok()) return done({std::move(call->response), to});
        if (may_retry && RetryableAtLeader(s) && *LeaderHint(s) != to) {
          const raft::NodeId leader = *LeaderHint(s);
          ForwardRequest again = std::move(call->request);
          again.mutable_target()->set_hop_count(0);
          if (leader == options_.view->self()) {
            return RunLocal(std::move(again), deadline,
                            [done, leader](absl::StatusOr<ForwardResponse> r) {
                              done({std::move(r), leader});
                            });
          }
          return Forward(std::move(again), leader, deadline, false, done);
        }
        done({std::move(s), to});
      });
}

}  // namespace sluice::broker
