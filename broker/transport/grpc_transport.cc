#include "broker/transport/grpc_transport.h"

#include <utility>

#include "base/logging.h"

namespace sluice::broker {

void ConfigurePeerServer(grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // The largest message a peer sends is a RaftStream batch: cut at 4 MiB,
  // plus one message that may carry a 4 MiB send (kMaxSendRequestBytes).
  // Clients share the port: their requests are refused over 4 MiB by the
  // handlers, and over this at the gRPC layer before any is parsed.
  builder.SetMaxReceiveMessageSize(kMaxPeerMessageBytes);
}

GrpcTransport::GrpcTransport(GrpcTransportOptions options)
    : options_(std::move(options)),
      service_(options_.cluster_id, options_.self) {
  addresses_ = options_.peer_addresses;
  if (options_.sender_defaults.dialer != nullptr &&
      options_.sender_defaults.dialer->secure()) {
    service_.RequireNodeCertificates();
  }
}

GrpcTransport::~GrpcTransport() { Stop(); }

void GrpcTransport::SetPeerAddress(raft::NodeId peer, std::string address) {
  std::unique_ptr<PeerSender> old;
  {
    absl::MutexLock lock(&mu_);
    addresses_[peer] = std::move(address);
    if (auto it = senders_.find(peer); it != senders_.end()) {
      old = std::move(it->second);
      senders_.erase(it);
    }
  }
  // Joined outside the lock: its threads may be reporting to the handler.
}

void GrpcTransport::Start(TransportHandler* handler) {
  {
    absl::MutexLock lock(&mu_);
    handler_ = handler;
  }
  service_.SetHandler(handler);
}

void GrpcTransport::Stop() {
  service_.SetHandler(nullptr);
  std::map<raft::NodeId, std::unique_ptr<PeerSender>> senders;
  {
    absl::MutexLock lock(&mu_);
    handler_ = nullptr;
    senders.swap(senders_);
  }
  senders.clear();  // joins every sender's threads
}

PeerSender* GrpcTransport::SenderFor(raft::NodeId peer) {
  if (handler_ == nullptr) return nullptr;
  if (auto it = senders_.find(peer); it != senders_.end())
    return it->second.get();
  auto address = addresses_.find(peer);
  if (address == addresses_.end()) return nullptr;
  PeerSenderOptions options = options_.sender_defaults;
  options.cluster_id = options_.cluster_id;
  options.self = options_.self;
  options.peer = peer;
  options.address = address->second;
  auto sender = std::make_unique<PeerSender>(std::move(options), handler_);
  PeerSender* raw = sender.get();
  senders_.emplace(peer, std::move(sender));
  return raw;
}

void GrpcTransport::Send(
    raft::NodeId to, std::vector<sluice::internal::raft::Message> messages) {
  TransportHandler* unreachable_handler = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (PeerSender* sender = SenderFor(to)) {
      sender->Send(std::move(messages));
      return;
    }
    unreachable_handler = handler_;
  }
  if (unreachable_handler != nullptr)
    unreachable_handler->ReportUnreachable(to);
}

void GrpcTransport::SendSnapshot(OutgoingSnapshot snapshot) {
  TransportHandler* handler = nullptr;
  const raft::GroupId group = snapshot.group;
  const raft::NodeId to = snapshot.to;
  {
    absl::MutexLock lock(&mu_);
    if (PeerSender* sender = SenderFor(to)) {
      sender->SendSnapshot(std::move(snapshot));
      return;
    }
    handler = handler_;
  }
  if (handler != nullptr) handler->ReportSnapshot(group, to, false);
}

}  // namespace sluice::broker
