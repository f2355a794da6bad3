// The Cluster service (proto/sluice/v1/cluster.proto) of one node: status
// of the nodes and of every Raft group this node hosts, leadership
// transfer, draining. AddNode / RemoveNode answer UNIMPLEMENTED until
// placement can move replicas (the Raft membership change exists).
#ifndef SLUICE_BROKER_SERVER_CLUSTER_SERVICE_H_
#define SLUICE_BROKER_SERVER_CLUSTER_SERVICE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "broker/api/cluster_view.h"
#include "broker/host/node_host.h"
#include "broker/server/authenticator.h"
#include "broker/transport/tls_credentials.h"
#include "sluice/v1/cluster.grpc.pb.h"

namespace sluice::broker {

class ClusterService final : public sluice::v1::Cluster::Service {
 public:
  struct Options {
    std::string cluster_id;
    raft::NodeId self;
    std::map<raft::NodeId, std::string> addresses;  // founding peers
    NodeHost* host = nullptr;
    // Queue names of partitions; nullptr: left out.
    const ClusterView* view = nullptr;
    // How long a peer may take to answer a liveness probe.
    absl::Duration probe_timeout = absl::Milliseconds(500);
    // Moves this node's leaderships away (DrainNode on this node).
    std::function<int()> drain;
    // Every RPC needs admin on "*" (authenticator.h); never nullptr.
    const Authenticator* auth = nullptr;
    // How liveness probes reach peers (plain or mutual TLS).
    std::shared_ptr<const PeerDialer> dialer;
  };
  explicit ClusterService(Options options) : options_(std::move(options)) {}

  grpc::Status GetClusterStatus(
      grpc::ServerContext* context,
      const sluice::v1::GetClusterStatusRequest* request,
      sluice::v1::GetClusterStatusResponse* response) override;
  grpc::Status TransferLeadership(
      grpc::ServerContext* context,
      const sluice::v1::TransferLeadershipRequest* request,
      sluice::v1::TransferLeadershipResponse* response) override;
  grpc::Status DrainNode(grpc::ServerContext* context,
                         const sluice::v1::DrainNodeRequest* request,
                         sluice::v1::DrainNodeResponse* response) override;
  grpc::Status AddNode(grpc::ServerContext* context,
                       const sluice::v1::AddNodeRequest* request,
                       sluice::v1::AddNodeResponse* response) override;
  grpc::Status RemoveNode(grpc::ServerContext* context,
                          const sluice::v1::RemoveNodeRequest* request,
                          sluice::v1::RemoveNodeResponse* response) override;

 private:
  // Probes every peer (RaftTransport.Hello) in parallel: ALIVE if it
  // answered within probe_timeout.
  std::map<uint64_t, bool> ProbePeers();

  Options options_;
};

// The gRPC form of a host status (an absl::Status with a leader hint keeps
// the hint in the message).
grpc::Status ToGrpc(const absl::Status& status);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_CLUSTER_SERVICE_H_
