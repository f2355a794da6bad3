#include "broker/server/cluster_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "sluice/internal/transport.grpc.pb.h"

namespace sluice::broker {
namespace {

using sluice::v1::GroupKind;

GroupKind KindOf(const std::string& kind) {
  if (kind == "meta") return sluice::v1::GROUP_KIND_METADATA;
  if (kind == "queue") return sluice::v1::GROUP_KIND_QUEUE_PARTITION;
  return sluice::v1::GROUP_KIND_UNSPECIFIED;
}

sluice::v1::ReplicationState StateOf(int state) {
  switch (state) {
    case 0:
      return sluice::v1::REPLICATION_STATE_PROBE;
    case 1:
      return sluice::v1::REPLICATION_STATE_REPLICATE;
    case 2:
      return sluice::v1::REPLICATION_STATE_SNAPSHOT;
    default:
      return sluice::v1::REPLICATION_STATE_UNSPECIFIED;
  }
}

void FillGroup(const GroupStatus& s, sluice::v1::GroupStatus& out) {
  out.set_group_id(s.group.value());
  out.set_kind(KindOf(s.kind));
  out.set_leader_node_id(s.leader.value());
  out.set_term(s.term.value());
  out.set_commit_index(s.commit.value());
  out.set_applied_index(s.applied.value());
  out.set_snapshot_index(s.snapshot_index.value());
  out.set_leader_reachable(s.leader != raft::kNoNode);
  for (uint64_t id : s.conf_state.voters()) {
    auto* r = out.add_replicas();
    r->set_node_id(id);
    r->set_role(sluice::v1::REPLICA_ROLE_VOTER);
    // The leader knows every member's progress; followers do not.
    for (const ReplicaProgress& p : s.progress) {
      if (p.node.value() != id) continue;
      r->set_match_index(p.match.value());
      r->set_lag(s.commit > p.match ? s.commit.value() - p.match.value() : 0);
      r->set_replication_state(StateOf(p.state));
      r->set_recent_active(p.recent_active || p.node == s.leader);
    }
  }
  for (uint64_t id : s.conf_state.learners()) {
    auto* r = out.add_replicas();
    r->set_node_id(id);
    r->set_role(sluice::v1::REPLICA_ROLE_LEARNER);
  }
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::Status ClusterService::GetClusterStatus(
    grpc::ServerContext* context,
    const sluice::v1::GetClusterStatusRequest* request,
    sluice::v1::GetClusterStatusResponse* response) {
  if (absl::Status s = options_.auth->CheckClusterAdmin(*context); !s.ok()) {
    return ToGrpc(s);
  }
  response->set_cluster_id(options_.cluster_id);
  response->set_answering_node_id(options_.self.value());
  const std::vector<GroupStatus> groups = options_.host->Status();
  std::map<uint64_t, std::pair<uint32_t, uint32_t>>
      counts;  // leaders, replicas
  for (const GroupStatus& g : groups) {
    if (g.leader != raft::kNoNode) ++counts[g.leader.value()].first;
    for (uint64_t id : g.conf_state.voters()) ++counts[id].second;
    for (uint64_t id : g.conf_state.learners()) ++counts[id].second;
  }
  const std::map<uint64_t, bool> alive = ProbePeers();
  for (const auto& [id, address] : options_.addresses) {
    if (request->node_id() != 0 && request->node_id() != id.value()) continue;
    auto* node = response->add_nodes();
    node->set_node_id(id.value());
    node->set_address(address);
    node->set_peer_address(address);
    node->set_state(sluice::v1::NODE_STATE_ACTIVE);
    auto probed = alive.find(id.value());
    node->set_liveness(id == options_.self ||
                               (probed != alive.end() && probed->second)
                           ? sluice::v1::NODE_LIVENESS_ALIVE
                           : sluice::v1::NODE_LIVENESS_UNREACHABLE);
    node->set_leader_count(counts[id.value()].first);
    node->set_replica_count(counts[id.value()].second);
  }
  // Queue names and partitions of the groups, from the metadata.
  std::map<uint64_t, std::pair<std::string, uint32_t>> partitions;
  if (options_.view != nullptr) {
    for (const auto& q : options_.view->metadata()->queues()) {
      for (const auto& p : q.partitions()) {
        partitions[p.group_id()] = {q.name(), p.partition()};
      }
    }
  }
  uint64_t total = 0;
  for (const GroupStatus& g : groups) {
    auto named = partitions.find(g.group.value());
    if (!request->queue_name().empty() &&
        (named == partitions.end() ||
         named->second.first != request->queue_name())) {
      continue;
    }
    ++total;
    if (!request->include_groups()) continue;
    sluice::v1::GroupStatus* out = response->add_groups();
    FillGroup(g, *out);
    if (named != partitions.end()) {
      out->set_queue_name(named->second.first);
      out->set_partition(named->second.second);
    }
  }
  response->set_total_group_count(total);
  return grpc::Status::OK;
}

std::map<uint64_t, bool> ClusterService::ProbePeers() {
  struct Probe {
    grpc::ClientContext context;
    sluice::internal::HelloRequest request;
    sluice::internal::HelloResponse response;
    std::unique_ptr<sluice::internal::RaftTransport::Stub> stub;
    bool ok = false;
  };
  std::map<uint64_t, std::unique_ptr<Probe>> probes;
  absl::Mutex mu;
  int left = 0;
  for (const auto& [id, address] : options_.addresses) {
    if (id == options_.self) continue;
    auto probe = std::make_unique<Probe>();
    probe->stub = sluice::internal::RaftTransport::NewStub(
        options_.dialer->Dial(id, address, grpc::ChannelArguments()));
    auto* header = probe->request.mutable_header();
    header->set_cluster_id(options_.cluster_id);
    header->set_from_node_id(options_.self.value());
    header->set_to_node_id(id.value());
    header->set_protocol_version(1);
    probe->context.set_deadline(
        absl::ToChronoTime(absl::Now() + options_.probe_timeout));
    probes[id.value()] = std::move(probe);
  }
  left = static_cast<int>(probes.size());
  for (auto& [id, probe] : probes) {
    Probe* p = probe.get();
    p->stub->async()->Hello(&p->context, &p->request, &p->response,
                            [p, &mu, &left](grpc::Status s) {
                              absl::MutexLock lock(&mu);
                              p->ok = s.ok();
                              --left;
                            });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &left));
  std::map<uint64_t, bool> alive;
  for (const auto& [id, probe] : probes) alive[id] = probe->ok;
  return alive;
}

grpc::Status ClusterService::TransferLeadership(
    grpc::ServerContext* context,
    const sluice::v1::TransferLeadershipRequest* request,
    sluice::v1::TransferLeadershipResponse* response) {
  if (absl::Status s = options_.auth->CheckClusterAdmin(*context); !s.ok()) {
    return ToGrpc(s);
  }
  if (request->group_id() == 0) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        "group_id: required (see GetClusterStatus for the groups)");
  }
  const raft::GroupId group(request->group_id());
  auto status = options_.host->StatusOf(group);
  if (!status) {
    return grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("group ", group.value(), " is not hosted on node ",
                     options_.self.value()));
  }
  raft::NodeId target(request->target_node_id());
  if (target == raft::kNoNode) {
    // Any other voter will do: the first one that is not us.
    for (uint64_t id : status->conf_state.voters()) {
      if (id != options_.self.value()) {
        target = raft::NodeId(id);
        break;
      }
    }
  }
  absl::Notification done;
  absl::Status result;
  options_.host->TransferLeadership(group, target, [&](absl::Status s) {
    result = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  if (!result.ok()) return ToGrpc(result);
  // Wait (bounded) for the new leader to show up here.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    status = options_.host->StatusOf(group);
    if (status && status->leader == target) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (!status || status->leader != target) {
    return grpc::Status(
        grpc::StatusCode::DEADLINE_EXCEEDED,
        absl::StrCat("node ", target.value(), " did not take over group ",
                     group.value(), " within 5 s; it may be behind or down"));
  }
  response->set_leader_node_id(status->leader.value());
  response->set_term(status->term.value());
  return grpc::Status::OK;
}

grpc::Status ClusterService::DrainNode(
    grpc::ServerContext* context, const sluice::v1::DrainNodeRequest* request,
    sluice::v1::DrainNodeResponse* response) {
  if (absl::Status s = options_.auth->CheckClusterAdmin(*context); !s.ok()) {
    return ToGrpc(s);
  }
  if (request->node_id() != options_.self.value()) {
    return grpc::Status(
        grpc::StatusCode::UNIMPLEMENTED,
        absl::StrCat("this is node ", options_.self.value(),
                     "; call DrainNode on node ", request->node_id(),
                     " itself (forwarding is not there yet)"));
  }
  if (request->undrain()) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "undrain needs placement; restart the node instead");
  }
  const int remaining = options_.drain();
  response->mutable_node()->set_node_id(options_.self.value());
  response->mutable_node()->set_state(sluice::v1::NODE_STATE_DRAINING);
  response->set_remaining_leader_count(remaining);
  return grpc::Status::OK;
}

grpc::Status ClusterService::AddNode(
    grpc::ServerContext* context, const sluice::v1::AddNodeRequest* /*request*/,
    sluice::v1::AddNodeResponse* /*response*/) {
  if (absl::Status s = options_.auth->CheckClusterAdmin(*context); !s.ok()) {
    return ToGrpc(s);
  }
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "AddNode: Raft membership change exists, placement of "
                      "replicas on a new node does not yet");
}

grpc::Status ClusterService::RemoveNode(
    grpc::ServerContext* context,
    const sluice::v1::RemoveNodeRequest* /*request*/,
    sluice::v1::RemoveNodeResponse* /*response*/) {
  if (absl::Status s = options_.auth->CheckClusterAdmin(*context); !s.ok()) {
    return ToGrpc(s);
  }
  return grpc::Status(
      grpc::StatusCode::UNIMPLEMENTED,
      "RemoveNode: Raft membership change exists, moving replicas "
      "off a node does not yet");
}

}  // namespace sluice::broker
