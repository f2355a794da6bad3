// The receiving half of the gRPC transport: the RaftTransport service every
// node serves on its peer address. It checks who is calling (cluster id,
// node ids), parses Raft messages and hands them to the host's
// TransportHandler, and assembles chunked snapshots before stepping them.
// Forward belongs to the node's API layer (a callback method, so that no
// thread waits for Raft) and answers UNAVAILABLE until a handler is
// attached; ForwardStreamReceive is not used (streams are served by the
// node the client called, with per-partition Forward calls).
#ifndef SLUICE_BROKER_TRANSPORT_RAFT_TRANSPORT_SERVICE_H_
#define SLUICE_BROKER_TRANSPORT_RAFT_TRANSPORT_SERVICE_H_

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "broker/host/transport.h"
#include "broker/transport/tls_credentials.h"
#include "sluice/internal/transport.grpc.pb.h"

namespace sluice::broker {

class RaftTransportService final
    : public sluice::internal::RaftTransport::WithCallbackMethod_Forward<
          sluice::internal::RaftTransport::Service> {
 public:
  // Runs one forwarded request (header already checked) and finishes
  // `reactor`.
  using ForwardHandler = std::function<void(
      grpc::CallbackServerContext*, const sluice::internal::ForwardRequest*,
      sluice::internal::ForwardResponse*, grpc::ServerUnaryReactor*)>;

  RaftTransportService(std::string cluster_id, raft::NodeId self);

  // With TLS: refuse callers whose verified certificate does not name the
  // node id in their header. Set once, before the server starts.
  void RequireNodeCertificates() { require_node_certificates_ = true; }

  // Set once, before the server starts.
  void SetForwardHandler(ForwardHandler handler) {
    forward_handler_ = std::move(handler);
  }
  grpc::ServerUnaryReactor* Forward(
      grpc::CallbackServerContext* context,
      const sluice::internal::ForwardRequest* request,
      sluice::internal::ForwardResponse* response) override;

  // Inbound traffic goes to `handler` (nullptr: dropped). Returns only when
  // no call into the previous handler is in progress.
  void SetHandler(TransportHandler* handler);

  grpc::Status Hello(grpc::ServerContext* context,
                     const sluice::internal::HelloRequest* request,
                     sluice::internal::HelloResponse* response) override;
  grpc::Status RaftStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<sluice::internal::RaftStreamResponse,
                               sluice::internal::RaftStreamRequest>* stream)
      override;
  grpc::Status InstallSnapshot(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<sluice::internal::InstallSnapshotResponse,
                               sluice::internal::InstallSnapshotRequest>*
          stream) override;

 private:
  // OK, or the status the PeerHeader rules of transport.proto prescribe.
  grpc::Status CheckHeader(const grpc::ServerContextBase& context,
                           const sluice::internal::PeerHeader& header) const;
  sluice::internal::PeerHeader OwnHeader(uint64_t to) const;
  void Deliver(raft::NodeId from,
               std::vector<sluice::internal::raft::Message> messages);

  // A snapshot that arrived in part, kept so that the sender's next call for
  // the same (group, index, term) resumes where this one broke off.
  struct PartialSnapshot {
    uint64_t index = 0;
    uint64_t term = 0;
    std::string data;
  };

  const std::string cluster_id_;
  const raft::NodeId self_;
  bool require_node_certificates_ = false;
  absl::Mutex partial_mu_;
  // Keyed by (sender, group).
  std::map<std::pair<uint64_t, uint64_t>, PartialSnapshot> partial_
      ABSL_GUARDED_BY(partial_mu_);
  ForwardHandler forward_handler_;
  absl::Mutex handler_mu_;
  TransportHandler* handler_ ABSL_GUARDED_BY(handler_mu_) = nullptr;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_TRANSPORT_RAFT_TRANSPORT_SERVICE_H_
