// Node: one running sluiced. Owns, in start order: the data dir (identity +
// lock), the gRPC transport to the peers, the multi-Raft host, the gRPC
// server (peer transport, Cluster service, health, reflection) and the
// metrics endpoint. A new data dir bootstraps the metadata group (group 1)
// with the founding peers as voters; an existing one recovers everything
// from disk.
#ifndef SLUICE_BROKER_SERVER_NODE_H_
#define SLUICE_BROKER_SERVER_NODE_H_

#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "base/metrics.h"
#include "broker/api/cluster_view.h"
#include "broker/api/group_controller.h"
#include "broker/api/local_executor.h"
#include "broker/api/metadata_ops.h"
#include "broker/api/partition_leaders.h"
#include "broker/host/node_host.h"
#include "broker/node/data_dir.h"
#include "broker/node/metrics_http.h"
#include "broker/node/node_config.h"
#include "broker/server/authenticator.h"
#include "broker/server/cluster_service.h"
#include "broker/server/move_sender.h"
#include "broker/server/node_metrics.h"
#include "broker/server/queues_service.h"
#include "broker/server/request_router.h"
#include "broker/transport/grpc_transport.h"
#include "grpcpp/grpcpp.h"

namespace sluice::broker {

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
  explicit Node(node::NodeConfig config)
      : config_(std::move(config)), metrics_state_(config_.node_id) {}
  // Wires the metadata observer and the request handling to the host.
  absl::Status StartApi();
  void OnMetadataApplied(const sluice::internal::MetadataState& state);
  // grpc.health.v1: SERVING once caught up (see node.cc).
  void UpdateHealth();

  node::NodeConfig config_;
  std::unique_ptr<node::DataDir> data_dir_;
  std::shared_ptr<const PeerDialer> dialer_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<GrpcTransport> transport_;
  // Request handling; the loop-thread parts are used only from the host's
  // loop, and outlive it (declared before host_).
  std::unique_ptr<ClusterView> view_;
  std::unique_ptr<PartitionLeaders> leaders_;
  std::unique_ptr<LocalExecutor> executor_;
  std::unique_ptr<MetadataOps> metadata_ops_;
  std::unique_ptr<GroupController> controller_;
  std::unique_ptr<RequestRouter> router_;
  std::unique_ptr<QueuesService> queues_service_;
  std::unique_ptr<RoutedMoveSender> move_sender_;
  std::unique_ptr<NodeHost> host_;
  // Paces PartitionLeaders::Tick (leases, timers, long-poll deadlines).
  std::thread ticker_;
  absl::Notification stop_ticker_;
  std::unique_ptr<ClusterService> cluster_service_;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<grpc::Server*> serving_{nullptr};
  int grpc_port_ = 0;
  NodeMetrics metrics_state_{0};
  std::unique_ptr<node::MetricsHttpServer> metrics_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_NODE_H_
