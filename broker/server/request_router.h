// RequestRouter: runs a request for one Raft group (a queue partition, or
// the metadata group) at that group's leader — on this node when it leads,
// else one hop away through RaftTransport.Forward. A forwarded request is
// never forwarded again (hop_count).
//
// Answers that prove nothing was proposed (not the leader, no leader yet,
// a leadership transfer in progress, a new leader still starting) are
// retried: at once at the leader the answer names, else after a short pause
// at whatever this node then believes, until the client's deadline (at most
// kMaxAttempts). So elections and graceful leader moves cost clients a
// delay, not an error. Anything else is answered as it came.
//
// Thread-safe. `done` runs on the host's loop thread (local requests) or on
// a gRPC thread (forwarded ones): it must be quick and must not block.
#ifndef SLUICE_BROKER_SERVER_REQUEST_ROUTER_H_
#define SLUICE_BROKER_SERVER_REQUEST_ROUTER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/api/cluster_view.h"
#include "broker/api/local_executor.h"
#include "broker/api/metadata_ops.h"
#include "broker/host/node_host.h"
#include "broker/transport/tls_credentials.h"
#include "sluice/internal/transport.grpc.pb.h"

namespace sluice::broker {

class RequestRouter {
 public:
  struct Options {
    std::string cluster_id;
    NodeHost* host = nullptr;
    ClusterView* view = nullptr;
    LocalExecutor* executor = nullptr;  // used on the loop thread only
    MetadataOps* metadata = nullptr;    // used on the loop thread only
    // How forwards reach other nodes (plain or mutual TLS); never nullptr.
    std::shared_ptr<const PeerDialer> dialer;
  };
  // The response and the node that served it (for leader hints).
  struct Result {
    absl::StatusOr<sluice::internal::ForwardResponse> response;
    raft::NodeId served_by;
  };
  using Done = std::function<void(Result)>;

  explicit RequestRouter(Options options);
  ~RequestRouter();

  // Runs `request` (target.group_id set) at the group's leader. `deadline`
  // is the client's (wall clock). `cancelled`, if given, is polled by long
  // polls: once true they stop waiting and lease nothing more.
  void Call(sluice::internal::ForwardRequest request, absl::Time deadline,
            Done done, std::shared_ptr<std::atomic<bool>> cancelled = nullptr);

  // Runs `request` here without forwarding (the Forward handler).
  void RunLocal(
      sluice::internal::ForwardRequest request, absl::Time deadline,
      std::function<void(absl::StatusOr<sluice::internal::ForwardResponse>)>
          done,
      std::shared_ptr<std::atomic<bool>> cancelled = nullptr);

 private:
  static constexpr int kMaxAttempts = 60;
  static constexpr absl::Duration kRetryPause = absl::Milliseconds(50);

  void Attempt(sluice::internal::ForwardRequest request, absl::Time deadline,
               Done done, std::shared_ptr<std::atomic<bool>> cancelled,
               int attempt, raft::NodeId at);
  void Forward(sluice::internal::ForwardRequest request, raft::NodeId to,
               absl::Time deadline, Done done);
  // Runs `fn` after `delay` on the router's timer thread.
  void After(absl::Duration delay, std::function<void()> fn);
  void TimerLoop();
  // Where to send a request for a group with no known leader here: the
  // preferred leader of a partition this node does not host.
  raft::NodeId Guess(raft::GroupId group) const;
  std::shared_ptr<sluice::internal::RaftTransport::Stub> StubFor(
      raft::NodeId node);

  Options options_;
  absl::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<sluice::internal::RaftTransport::Stub>>
      stubs_ ABSL_GUARDED_BY(mu_);

  absl::Mutex timer_mu_;
  std::multimap<absl::Time, std::function<void()>> timers_
      ABSL_GUARDED_BY(timer_mu_);
  bool stopping_ ABSL_GUARDED_BY(timer_mu_) = false;
  uint64_t timers_added_ ABSL_GUARDED_BY(timer_mu_) = 0;
  std::thread timer_thread_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_REQUEST_ROUTER_H_
