// Node: one running sluiced. Owns, in start order: the data dir (identity +
// lock), the gRPC transport to the peers, the multi-Raft host, the gRPC
// server (peer transport, Cluster service, health, reflection) and the
// metrics endpoint. A new data dir bootstraps the metadata group (group 1)
// with the founding peers as voters; an existing one recovers everything
// from disk.
#ifndef SLUICE_BROKER_SERVER_NODE_H_
#define SLUICE_BROKER_SERVER_NODE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/metrics.h"
#include "broker/host/node_host.h"
#include "broker/node/data_dir.h"
#include "broker/node/metrics_http.h"
#include "broker/node/node_config.h"
#include "broker/server/cluster_service.h"
#include "broker/transport/grpc_transport.h"
#include "grpcpp/grpcpp.h"

namespace sluice::broker {

// The metadata Raft group's id on every cluster.
inline constexpr raft::GroupId kMetadataGroup{1};

class Node {
 public:
  // Starts everything; errors name the setting at fault (bad data dir,
  // address in use, ...).
  static absl::StatusOr<std::unique_ptr<Node>> Start(node::NodeConfig config);
  // Stops the server (cancelling open calls), the host and the transport.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Moves every leadership this node holds to another voter, waiting up to
  // `timeout`; returns how many it still holds. Used on SIGTERM so that a
  // rolling restart costs no unavailability.
  int Drain(absl::Duration timeout);

  const node::NodeConfig& config() const { return config_; }
  NodeHost& host() { return *host_; }
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  std::string RenderMetrics();

 private:
  explicit Node(node::NodeConfig config) : config_(std::move(config)) {}

  node::NodeConfig config_;
  std::unique_ptr<node::DataDir> data_dir_;
  std::unique_ptr<GrpcTransport> transport_;
  std::unique_ptr<NodeHost> host_;
  std::unique_ptr<ClusterService> cluster_service_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  MetricsRegistry metrics_registry_;
  std::unique_ptr<node::MetricsHttpServer> metrics_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_NODE_H_
