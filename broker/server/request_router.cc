#include "broker/server/request_router.h"

#include <utility>

#include "absl/strings/match.h"
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

// Retried only when the answer proves that nothing was appended.
bool Retryable(const absl::Status& status) {
  return absl::IsUnavailable(status) && IsNotProposed(status);
}

}  // namespace

RequestRouter::RequestRouter(Options options)
    : options_(std::move(options)), timer_thread_([this] { TimerLoop(); }) {}

RequestRouter::~RequestRouter() {
  {
    absl::MutexLock lock(&timer_mu_);
    stopping_ = true;
  }
  timer_thread_.join();
}

void RequestRouter::After(absl::Duration delay, std::function<void()> fn) {
  absl::MutexLock lock(&timer_mu_);
  timers_.emplace(absl::Now() + delay, std::move(fn));
  ++timers_added_;
}

void RequestRouter::TimerLoop() {
  absl::MutexLock lock(&timer_mu_);
  while (!stopping_) {
    const absl::Time next = timers_.empty() ? absl::Now() + absl::Seconds(1)
                                            : timers_.begin()->first;
    if (absl::Now() < next) {
      const uint64_t seen = timers_added_;
      auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(timer_mu_) {
        return stopping_ || timers_added_ != seen;
      };
      timer_mu_.AwaitWithDeadline(
          absl::Condition(&changed, &decltype(changed)::operator()), next);
      continue;
    }
    std::function<void()> fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    timer_mu_.Unlock();
    fn();
    timer_mu_.Lock();
  }
}

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
  Attempt(std::move(request), deadline, std::move(done), std::move(cancelled),
          0, raft::kNoNode);
}

void RequestRouter::Attempt(ForwardRequest request, absl::Time deadline,
                            Done done,
                            std::shared_ptr<std::atomic<bool>> cancelled,
                            int attempt, raft::NodeId at) {
  const raft::NodeId self = options_.view->self();
  if (at == raft::kNoNode) {
    at = options_.view->Leader(raft::GroupId(request.target().group_id()));
    if (at == raft::kNoNode)
      at = Guess(raft::GroupId(request.target().group_id()));
    if (at == raft::kNoNode) at = self;
  }
  auto again = [this, request, deadline, done, cancelled,
                attempt](Result r) mutable {
    const absl::Status status =
        r.response.ok() ? absl::OkStatus() : r.response.status();
    if (!Retryable(status) || attempt + 1 >= kMaxAttempts) {
      return done(std::move(r));
    }
    const std::optional<raft::NodeId> hint = LeaderHint(status);
    if (hint.has_value() && *hint != r.served_by) {
      return Attempt(std::move(request), deadline, std::move(done),
                     std::move(cancelled), attempt + 1, *hint);
    }
    if (absl::Now() + kRetryPause >= deadline) return done(std::move(r));
    After(kRetryPause,
          [this, request = std::move(request), deadline, done = std::move(done),
           cancelled = std::move(cancelled), attempt]() mutable {
            Attempt(std::move(request), deadline, std::move(done),
                    std::move(cancelled), attempt + 1, raft::kNoNode);
          });
  };
  if (at != self)
    return Forward(std::move(request), at, deadline, std::move(again));
  RunLocal(
      std::move(request), deadline,
      [again = std::move(again),
       self](absl::StatusOr<ForwardResponse> r) mutable {
        again({std::move(r), self});
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
    // Forwarding must find a restarted leader at once: reconnect attempts
    // back off to at most 250 ms (gRPC's default grows to 2 minutes).
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 250);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
    args.SetInt(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, 64 << 20);
    args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
    stub = sluice::internal::RaftTransport::NewStub(
        options_.dialer->Dial(node, address, args));
  }
  return stub;
}

void RequestRouter::Forward(ForwardRequest request, raft::NodeId to,
                            absl::Time deadline, Done done) {
  auto stub = StubFor(to);
  if (stub == nullptr) {
    return done({NotProposed(absl::UnavailableError(
                     absl::StrCat("no address known for node ", to.value()))),
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
      [call, to, done](grpc::Status status) {
        absl::Status s = FromGrpcStatus(status, call->context);
        if (s.ok()) {
          return done({std::move(call->response), to});
        }
        // No connection: the request never left.
        if (absl::IsUnavailable(s) &&
            absl::StartsWith(s.message(), "failed to connect")) {
          s = NotProposed(std::move(s));
        }
        done({std::move(s), to});
      });
}

}  // namespace sluice::broker
