#include "broker/server/node.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "base/file.h"
#include "base/logging.h"
#include "broker/auth/auth_config.h"
#include "broker/meta/metadata_state_machine.h"
#include "broker/server/grpc_status.h"
#include "broker/server/service_util.h"
#include "broker/server/state_machines.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace sluice::broker {
namespace {

// The policy of --auth-config; nullptr (everything allowed) without one.
absl::StatusOr<std::shared_ptr<const auth::AccessPolicy>> LoadAccessPolicy(
    const std::string& path) {
  if (path.empty()) return nullptr;
  std::optional<std::string> text = ReadWholeFile(path);
  if (!text.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--auth-config: cannot read '", path, "'"));
  }
  absl::StatusOr<auth::AccessPolicy> policy = auth::ParseAuthConfig(*text);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--auth-config '", path, "': ", policy.status().message()));
  }
  SLUICE_LOG(INFO) << "auth config '" << path << "': " << policy->token_count()
                   << " token(s), " << policy->grants().size() << " grant(s)";
  return std::make_shared<const auth::AccessPolicy>(*std::move(policy));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Node>> Node::Start(node::NodeConfig config) {
  std::unique_ptr<Node> node(new Node(std::move(config)));
  const node::NodeConfig& c = node->config_;
  const raft::NodeId self(c.node_id);

  // Security material first: a bad file stops the node before it touches
  // its data dir.
  std::optional<TlsMaterial> tls;
  if (c.tls_enabled()) {
    auto loaded = LoadTls({c.tls_cert, c.tls_key, c.tls_ca});
    if (!loaded.ok()) return loaded.status();
    tls = std::move(*loaded);
  }
  node->dialer_ = std::make_shared<PeerDialer>(tls);
  auto policy = LoadAccessPolicy(c.auth_config);
  if (!policy.ok()) return policy.status();
  node->auth_ = std::make_unique<Authenticator>(std::move(*policy));

  auto data_dir = node::DataDir::Claim(c.data_dir, c.cluster_name, c.node_id);
  if (!data_dir.ok()) return data_dir.status();
  node->data_dir_ = std::move(*data_dir);

  GrpcTransportOptions transport;
  transport.sender_defaults.dialer = node->dialer_;
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
  // Bounds on what one connection may hold open: HTTP/2 streams are the
  // calls in flight (a peer's forwards beyond it wait in its channel).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             c.max_streams_per_connection);
  builder.AddListeningPort(c.listen, NodeServerCredentials(tls),
                           &node->grpc_port_);
  builder.RegisterService(node->transport_->service());

  std::map<uint64_t, std::string> addresses;
  for (const auto& [id, address] : c.peers) addresses[id] = address;
  node->view_ = std::make_unique<ClusterView>(self, std::move(addresses));
  PartitionLeaders::Options leaders;
  node->leaders_ = std::make_unique<PartitionLeaders>(std::move(leaders));
  node->executor_ =
      std::make_unique<LocalExecutor>(*node->leaders_, MonotonicClock::Get());

  NodeHost::Options host;
  host.node_id = self;
  host.data_dir = node->data_dir_->RaftDbPath();
  host.transport = node->transport_.get();
  host.tick_interval = c.tick_interval;
  host.quiesce_idle_groups = c.quiesce;
  host.seed = c.node_id * 0x9E3779B97F4A7C15ULL;
  host.factory = MakeStateMachineFactory();
  {
    Histogram* fsync = node->metrics_state_.fsync_seconds();
    host.db.writer.after_sync = [fsync](absl::Duration d) {
      fsync->Observe(absl::ToDoubleSeconds(d));
    };
  }
  {
    ClusterView* view = node->view_.get();
    PartitionLeaders* partition_leaders = node->leaders_.get();
    Counter* changes = node->metrics_state_.leadership_changes();
    host.on_leader_change = [view, partition_leaders,
                             changes](const GroupStatus& s) {
      changes->Increment();
      view->SetLeader(s.group, s.leader);
      partition_leaders->OnLeaderChange(s);
    };
  }
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

  if (absl::Status s = node->StartApi(); !s.ok()) return s;
  builder.RegisterService(node->queues_service_.get());

  ClusterService::Options cluster;
  cluster.cluster_id = c.cluster_name;
  cluster.self = self;
  for (const auto& [id, address] : c.peers) {
    cluster.addresses[raft::NodeId(id)] = address;
  }
  cluster.host = node->host_.get();
  cluster.view = node->view_.get();
  Node* raw = node.get();
  cluster.drain = [raw] { return raw->Drain(absl::Seconds(10)); };
  cluster.auth = node->auth_.get();
  cluster.dialer = node->dialer_;
  node->cluster_service_ = std::make_unique<ClusterService>(std::move(cluster));
  builder.RegisterService(node->cluster_service_.get());

  node->server_ = builder.BuildAndStart();
  if (node->server_ == nullptr || node->grpc_port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "--listen: cannot listen on ", c.listen,
        tls.has_value() ? " (in use, or the TLS certificate and key do not "
                          "match or do not parse? see gRPC's log above)"
                        : " (in use?)"));
  }
  node->server_->GetHealthCheckService()->SetServingStatus(false);
  node->serving_.store(node->server_.get());

  if (!c.metrics_listen.empty()) {
    auto metrics = node::MetricsHttpServer::Start(
        c.metrics_listen, [raw] { return raw->RenderMetrics(); });
    if (!metrics.ok()) return metrics.status();
    node->metrics_ = std::move(*metrics);
  }
  SLUICE_LOG(INFO) << "node " << c.node_id << " serving on " << c.listen
                   << (tls.has_value() ? " with TLS" : " in plaintext")
                   << (node->auth_->enabled()
                           ? ", authenticating every client call"
                           : ", without authentication")
                   << (c.metrics_listen.empty()
                           ? std::string()
                           : absl::StrCat(", metrics on ", c.metrics_listen));
  return node;
}

absl::Status Node::StartApi() {
  metadata_ops_ = std::make_unique<MetadataOps>(
      *host_, *view_, SystemClock::Get(), config_.max_queues);
  controller_ = std::make_unique<GroupController>(*host_, *view_);
  RequestRouter::Options router;
  router.cluster_id = config_.cluster_name;
  router.host = host_.get();
  router.view = view_.get();
  router.executor = executor_.get();
  router.metadata = metadata_ops_.get();
  router.dialer = dialer_;
  router_ = std::make_unique<RequestRouter>(std::move(router));
  queues_service_ = std::make_unique<QueuesService>(*view_, *router_, *auth_);
  move_sender_ = std::make_unique<RoutedMoveSender>(*host_, *view_, *router_);
  leaders_->set_move_sender(move_sender_.get());
  // From here on leaderships are taken (earlier ones wait for the ticker).
  leaders_->set_host(host_.get());

  transport_->service()->SetForwardHandler(
      [this](grpc::CallbackServerContext* context,
             const sluice::internal::ForwardRequest* request,
             sluice::internal::ForwardResponse* response,
             grpc::ServerUnaryReactor* reactor) {
        router_->RunLocal(
            *request, DeadlineOf(*context),
            [this, context, response,
             reactor](absl::StatusOr<sluice::internal::ForwardResponse> r) {
              if (r.ok()) *response = std::move(*r);
              reactor->Finish(ToGrpcStatus(r.status(), *context, *view_));
            });
      });

  // The metadata observer: every applied change updates the view at once
  // and, from a task of its own (not inside Apply), the replicas and leads.
  absl::Status s = host_->WithStateMachine(
      kMetadataGroup, [this](ReplicaStateMachine& sm, const GroupStatus&) {
        auto* metadata = dynamic_cast<meta::MetadataStateMachine*>(&sm);
        if (metadata == nullptr) return;
        metadata->set_observer(
            [this](const sluice::internal::MetadataState& state) {
              OnMetadataApplied(state);
            });
        OnMetadataApplied(metadata->state());
      });
  if (!s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this node holds no metadata replica (", s.message(), ")"));
  }
  ticker_ = std::thread([this] {
    for (uint64_t round = 1;
         !stop_ticker_.WaitForNotificationWithTimeout(absl::Milliseconds(20));
         ++round) {
      host_->Post([this] { leaders_->Tick(); });
      if (round % 50 == 0) {  // about once a second
        host_->Post([this] { leaders_->Rebalance(); });
        UpdateHealth();
      }
    }
  });
  return absl::OkStatus();
}

void Node::UpdateHealth() {
  grpc::Server* server = serving_.load();
  if (server == nullptr) return;
  // Serving once every group hosted here has a leader and has applied what
  // it knows to be committed: a node still catching up after a restart
  // stays out of load balancers until then.
  bool caught_up = true;
  for (const GroupStatus& g : host_->Status()) {
    if (g.leader == raft::kNoNode || g.applied < g.commit) caught_up = false;
  }
  server->GetHealthCheckService()->SetServingStatus(caught_up);
}

void Node::OnMetadataApplied(const sluice::internal::MetadataState& state) {
  view_->SetMetadata(state);
  host_->Post([this] {
    const ClusterView::Metadata metadata = view_->metadata();
    controller_->OnMetadata(*metadata);
    leaders_->OnMetadata(*metadata);
  });
}

Node::~Node() {
  serving_.store(nullptr);
  if (ticker_.joinable()) {
    stop_ticker_.Notify();
    ticker_.join();
  }
  if (host_) {
    // Long polls answer now (empty), so that the server can stop quickly.
    absl::Notification shut;
    host_->Post([this, &shut] {
      leaders_->Shutdown();
      shut.Notify();
    });
    shut.WaitForNotification();
  }
  metrics_.reset();
  if (server_)
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
  host_.reset();  // stops the transport's use and the loop
  transport_.reset();
}

int Node::Drain(absl::Duration timeout) {
  const raft::NodeId self(config_.node_id);
  host_->SetDraining(true);
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
  // Queue gauges and counters live on the loop thread: one task gathers
  // them for this scrape.
  std::vector<PartitionLeaders::Gauges> partitions;
  std::map<raft::GroupId, LocalExecutor::Counters> counters;
  absl::Notification gathered;
  host_->Post([&] {
    partitions = leaders_->CollectGauges(absl::Now());
    counters = executor_->counters();
    gathered.Notify();
  });
  gathered.WaitForNotification();
  metrics_state_.Refresh(host_->Status(), partitions, counters);
  return metrics_state_.registry().Render();
}

}  // namespace sluice::broker
