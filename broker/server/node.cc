#include "broker/server/node.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "base/logging.h"
#include "broker/server/state_machines.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace sluice::broker {

absl::StatusOr<std::unique_ptr<Node>> Node::Start(node::NodeConfig config) {
  std::unique_ptr<Node> node(new Node(std::move(config)));
  const node::NodeConfig& c = node->config_;
  const raft::NodeId self(c.node_id);

  auto data_dir = node::DataDir::Claim(c.data_dir, c.cluster_name, c.node_id);
  if (!data_dir.ok()) return data_dir.status();
  node->data_dir_ = std::move(*data_dir);

  GrpcTransportOptions transport;
  transport.cluster_id = c.cluster_name;
  transport.self = self;
  for (const auto& [id, address] : c.peers) {
    if (id != c.node_id) transport.peer_addresses[raft::NodeId(id)] = address;
  }
  node->transport_ = std::make_unique<GrpcTransport>(std::move(transport));

  // The server first (peers may call as soon as the host runs), without
  // accepting client calls until everything below is up.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  ConfigurePeerServer(builder);
  builder.AddListeningPort(c.listen, grpc::InsecureServerCredentials(),
                           &node->grpc_port_);
  builder.RegisterService(node->transport_->service());

  NodeHost::Options host;
  host.node_id = self;
  host.data_dir = node->data_dir_->RaftDbPath();
  host.transport = node->transport_.get();
  host.tick_interval = c.tick_interval;
  host.seed = c.node_id * 0x9E3779B97F4A7C15ULL;
  host.factory = MakeStateMachineFactory();
  auto opened = NodeHost::Open(std::move(host));
  if (!opened.ok()) return opened.status();
  node->host_ = std::move(*opened);

  if (node->data_dir_->is_new()) {
    GroupSpec metadata{kMetadataGroup, "meta", {}};
    for (const auto& [id, address] : c.peers) {
      metadata.initial_voters.push_back(raft::NodeId(id));
    }
    if (absl::Status s = node->host_->CreateGroup(std::move(metadata));
        !s.ok()) {
      return s;
    }
    SLUICE_LOG(INFO) << "bootstrapped the metadata group with "
                     << c.peers.size() << " founding members";
  }

  ClusterService::Options cluster;
  cluster.cluster_id = c.cluster_name;
  cluster.self = self;
  for (const auto& [id, address] : c.peers) {
    cluster.addresses[raft::NodeId(id)] = address;
  }
  cluster.host = node->host_.get();
  Node* raw = node.get();
  cluster.drain = [raw] { return raw->Drain(absl::Seconds(10)); };
  node->cluster_service_ = std::make_unique<ClusterService>(std::move(cluster));
  builder.RegisterService(node->cluster_service_.get());

  node->server_ = builder.BuildAndStart();
  if (node->server_ == nullptr || node->grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("--listen: cannot listen on ", c.listen, " (in use?)"));
  }

  if (!c.metrics_listen.empty()) {
    auto metrics = node::MetricsHttpServer::Start(
        c.metrics_listen, [raw] { return raw->RenderMetrics(); });
    if (!metrics.ok()) return metrics.status();
    node->metrics_ = std::move(*metrics);
  }
  SLUICE_LOG(INFO) << "node " << c.node_id << " serving on " << c.listen
                   << (c.metrics_listen.empty()
                           ? std::string()
                           : absl::StrCat(", metrics on ", c.metrics_listen));
  return node;
}

Node::~Node() {
  metrics_.reset();
  if (server_)
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
  host_.reset();  // stops the transport's use and the loop
  transport_.reset();
}

int Node::Drain(absl::Duration timeout) {
  const raft::NodeId self(config_.node_id);
  const absl::Time deadline = absl::Now() + timeout;
  int remaining = 0;
  while (true) {
    remaining = 0;
    for (const GroupStatus& g : host_->Status()) {
      if (g.leader != self) continue;
      raft::NodeId target = raft::kNoNode;
      for (uint64_t id : g.conf_state.voters()) {
        if (id != self.value()) {
          target = raft::NodeId(id);
          break;
        }
      }
      // A group with no other voter has nowhere to go: not worth waiting for.
      if (target == raft::kNoNode) continue;
      ++remaining;
      host_->TransferLeadership(g.group, target, [](absl::Status) {});
    }
    if (remaining == 0 || absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return remaining;
}

std::string Node::RenderMetrics() {
  // Per-group gauges are refreshed on every scrape from the host's status.
  const MetricLabels node_label{{"node", std::to_string(config_.node_id)}};
  for (const GroupStatus& g : host_->Status()) {
    MetricLabels labels = node_label;
    labels["group"] = std::to_string(g.group.value());
    labels["kind"] = g.kind;
    metrics_registry_
        .AddGauge("sluice_raft_is_leader", "1 if this node leads the group",
                  labels)
        ->Set(g.leader == raft::NodeId(config_.node_id) ? 1 : 0);
    metrics_registry_.AddGauge("sluice_raft_term", "current Raft term", labels)
        ->Set(static_cast<double>(g.term.value()));
    metrics_registry_
        .AddGauge("sluice_raft_commit_index", "highest committed log index",
                  labels)
        ->Set(static_cast<double>(g.commit.value()));
    metrics_registry_
        .AddGauge("sluice_raft_applied_lag",
                  "committed but not yet applied entries", labels)
        ->Set(static_cast<double>(g.commit.value() - g.applied.value()));
  }
  return metrics_registry_.Render();
}

}  // namespace sluice::broker
