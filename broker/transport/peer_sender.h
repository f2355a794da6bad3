// PeerSender: the outgoing half of the gRPC transport for one peer. A queue
// of Raft messages drained by one thread into a long-lived RaftStream call,
// batched up to a byte limit per request, plain heartbeats coalesced; snapshots
// go on their own InstallSnapshot calls from a second thread. A broken stream
// drops what was in flight (Raft retransmits), reports the peer unreachable and
// reconnects with backoff.
#ifndef SLUICE_BROKER_TRANSPORT_PEER_SENDER_H_
#define SLUICE_BROKER_TRANSPORT_PEER_SENDER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/host/transport.h"
#include "broker/transport/heartbeat_coalescer.h"
#include "broker/transport/tls_credentials.h"
#include "grpcpp/grpcpp.h"
#include "sluice/internal/transport.grpc.pb.h"

namespace sluice::broker {

struct PeerSenderOptions {
  std::string cluster_id;
  raft::NodeId self;
  raft::NodeId peer;
  std::string address;
  // Plain or mutual TLS; nullptr: plain.
  std::shared_ptr<const PeerDialer> dialer;
  // A request is cut when it would pass this many bytes.
  size_t max_batch_bytes = 4 << 20;
  // Queued bytes beyond this are dropped (and the peer reported unreachable)
  // rather than held: a peer that is down must not grow our memory.
  size_t max_queued_bytes = 64 << 20;
  size_t snapshot_chunk_bytes = 1 << 20;
  absl::Duration min_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
};

class PeerSender {
 public:
  PeerSender(PeerSenderOptions options, TransportHandler* handler);
  ~PeerSender();  // stops both threads; drops what is queued
  PeerSender(const PeerSender&) = delete;
  PeerSender& operator=(const PeerSender&) = delete;

  // Queues messages; an empty vector asks for a keepalive batch.
  void Send(std::vector<sluice::internal::raft::Message> messages);
  void SendSnapshot(OutgoingSnapshot snapshot);

 private:
  void RunMessages();
  void RunSnapshots();
  // Sends queued messages on one stream until it breaks or we stop.
  void StreamUntilBroken(sluice::internal::RaftTransport::Stub& stub);
  bool InstallSnapshot(sluice::internal::RaftTransport::Stub& stub,
                       OutgoingSnapshot& snapshot);
  sluice::internal::PeerHeader Header() const;
  bool HasWork() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || !heartbeats_.empty() || keepalive_;
  }
  void Backoff(absl::Duration& delay);

  const PeerSenderOptions options_;
  TransportHandler* const handler_;
  std::shared_ptr<grpc::Channel> channel_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<sluice::internal::RaftEnvelope> queue_ ABSL_GUARDED_BY(mu_);
  HeartbeatCoalescer heartbeats_ ABSL_GUARDED_BY(mu_);
  // An empty Send: the host's per-tick keepalive (raft/core/
  // peer_liveness.h); goes out as a batch even if nothing else is queued.
  bool keepalive_ ABSL_GUARDED_BY(mu_) = false;
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<OutgoingSnapshot> snapshots_ ABSL_GUARDED_BY(mu_);
  // The calls in progress, so that the destructor can cancel them.
  grpc::ClientContext* stream_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  grpc::ClientContext* snapshot_context_ ABSL_GUARDED_BY(mu_) = nullptr;

  bool peer_down_logged_ = false;  // message thread only
  std::thread message_thread_;
  std::thread snapshot_thread_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_TRANSPORT_PEER_SENDER_H_
