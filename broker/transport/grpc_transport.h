// GrpcTransport: the Transport of a real node. Outgoing traffic to each
// peer goes through a PeerSender (one long-lived RaftStream plus snapshot
// calls); incoming traffic arrives through the RaftTransportService, which
// the node registers on its gRPC server. See broker/host/transport.h for
// the contract and proto/sluice/internal/transport.proto for the wire.
//
// Plain heartbeats and their responses travel coalesced per node pair
// (heartbeat_coalescer.h); an empty Send is a keepalive batch.
#ifndef SLUICE_BROKER_TRANSPORT_GRPC_TRANSPORT_H_
#define SLUICE_BROKER_TRANSPORT_GRPC_TRANSPORT_H_

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "broker/host/transport.h"
#include "broker/transport/peer_sender.h"
#include "broker/transport/raft_transport_service.h"
#include "grpcpp/server_builder.h"

namespace sluice::broker {

struct GrpcTransportOptions {
  std::string cluster_id;
  raft::NodeId self;
  std::map<raft::NodeId, std::string> peer_addresses;  // may include self
  // ids/address ignored; its dialer decides plain or mutual TLS both ways
  // (with TLS, inbound Raft traffic needs a matching node certificate).
  PeerSenderOptions sender_defaults;
};

// The most bytes one incoming gRPC message may have on a node's port.
inline constexpr int kMaxPeerMessageBytes = 16 << 20;

// Server settings the peer channels rely on: they ping every 2 s to notice
// dead peers, which a default server punishes as "too many pings".
void ConfigurePeerServer(grpc::ServerBuilder& builder);

class GrpcTransport final : public Transport {
 public:
  explicit GrpcTransport(GrpcTransportOptions options);
  ~GrpcTransport() override;

  // Register this on the node's gRPC server before it starts.
  RaftTransportService* service() { return &service_; }
  // Adds or moves a peer (e.g. after AddNode); an existing stream to the old
  // address is closed.
  void SetPeerAddress(raft::NodeId peer, std::string address);

  void Start(TransportHandler* handler) override;
  void Stop() override;
  void Send(raft::NodeId to,
            std::vector<sluice::internal::raft::Message> messages) override;
  void SendSnapshot(OutgoingSnapshot snapshot) override;

 private:
  // The sender for `peer`, created on first use; nullptr when the address
  // is unknown or the transport is stopped.
  PeerSender* SenderFor(raft::NodeId peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  GrpcTransportOptions options_;
  RaftTransportService service_;
  absl::Mutex mu_;
  TransportHandler* handler_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::map<raft::NodeId, std::string> addresses_ ABSL_GUARDED_BY(mu_);
  std::map<raft::NodeId, std::unique_ptr<PeerSender>> senders_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_TRANSPORT_GRPC_TRANSPORT_H_
