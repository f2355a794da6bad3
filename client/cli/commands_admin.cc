// sluice redrive start|list|cancel, sluice cluster status
#include "absl/strings/str_cat.h"
#include "client/cli/cli_output.h"
#include "client/cli/commands.h"

namespace sluice::cli {
namespace {

std::string TaskState(v1::RedriveTaskState s) {
  switch (s) {
    case v1::REDRIVE_TASK_STATE_RUNNING:
      return "running";
    case v1::REDRIVE_TASK_STATE_COMPLETED:
      return "completed";
    case v1::REDRIVE_TASK_STATE_CANCELLING:
      return "cancelling";
    case v1::REDRIVE_TASK_STATE_CANCELLED:
      return "cancelled";
    case v1::REDRIVE_TASK_STATE_FAILED:
      return "failed";
    default:
      return "-";
  }
}

void PrintTasks(Context& c, const std::vector<v1::RedriveTask>& tasks) {
  if (c.json) {
    v1::ListRedriveTasksResponse all;
    for (const v1::RedriveTask& t : tasks) *all.add_tasks() = t;
    c.out << Json(all);
    return;
  }
  if (tasks.empty()) {
    c.out << "no redrive tasks\n";
    return;
  }
  Table t({"TASK", "STATE", "SOURCE", "DESTINATION", "MOVED", "SKIPPED", "OF",
           "STARTED"});
  for (const v1::RedriveTask& task : tasks) {
    t.Add({task.task_id(),
           TaskState(task.state()) + (task.failure_reason().empty()
                                          ? ""
                                          : " (" + task.failure_reason() + ")"),
           task.source_queue_name(),
           task.destination_queue_name().empty()
               ? "(original queues)"
               : task.destination_queue_name(),
           absl::StrCat(task.moved_count()), absl::StrCat(task.skipped_count()),
           absl::StrCat(task.approximate_messages_to_move()),
           FormatTime(task.start_time())});
  }
  c.out << t.Render();
}

std::string Liveness(v1::NodeLiveness l) {
  return l == v1::NODE_LIVENESS_ALIVE         ? "alive"
         : l == v1::NODE_LIVENESS_UNREACHABLE ? "UNREACHABLE"
                                              : "-";
}

std::string NodeState(v1::NodeState s) {
  switch (s) {
    case v1::NODE_STATE_JOINING:
      return "joining";
    case v1::NODE_STATE_ACTIVE:
      return "active";
    case v1::NODE_STATE_DRAINING:
      return "draining";
    case v1::NODE_STATE_REMOVING:
      return "removing";
    default:
      return "-";
  }
}

}  // namespace

absl::StatusOr<int> RunRedrive(Context& c) {
  absl::StatusOr<std::string> verb =
      c.args.Word(1, "redrive command (start, list, cancel)");
  if (!verb.ok()) return verb.status();
  if (*verb == "start") {
    if (absl::Status s = c.args.Check({"to", "rate"}, 3); !s.ok()) return s;
    absl::StatusOr<std::string> source =
        c.args.Word(2, "source queue (usually a DLQ)");
    if (!source.ok()) return source.status();
    v1::StartRedriveRequest request;
    request.set_source_queue_name(*source);
    request.set_destination_queue_name(c.args.String("to"));
    absl::StatusOr<int64_t> rate = c.args.Int("rate", 0, 0, 10000);
    if (!rate.ok()) return rate.status();
    request.set_max_messages_per_second(static_cast<uint32_t>(*rate));
    absl::StatusOr<v1::RedriveTask> task =
        c.client.StartRedrive(request, c.timeout);
    if (!task.ok()) return task.status();
    PrintTasks(c, {*task});
    return 0;
  }
  if (*verb == "list") {
    if (absl::Status s = c.args.Check({}, 3); !s.ok()) return s;
    const std::string source =
        c.args.positional().size() > 2 ? c.args.positional()[2] : "";
    absl::StatusOr<std::vector<v1::RedriveTask>> tasks =
        c.client.ListRedriveTasks(source, c.timeout);
    if (!tasks.ok()) return tasks.status();
    PrintTasks(c, *tasks);
    return 0;
  }
  if (*verb == "cancel") {
    if (absl::Status s = c.args.Check({}, 3); !s.ok()) return s;
    absl::StatusOr<std::string> id = c.args.Word(2, "task id");
    if (!id.ok()) return id.status();
    absl::StatusOr<v1::RedriveTask> task =
        c.client.CancelRedrive(*id, c.timeout);
    if (!task.ok()) return task.status();
    PrintTasks(c, {*task});
    return 0;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown redrive command '", *verb, "' (want start, list or cancel)"));
}

absl::StatusOr<int> RunCluster(Context& c) {
  absl::StatusOr<std::string> verb = c.args.Word(1, "cluster command (status)");
  if (!verb.ok()) return verb.status();
  if (*verb != "status") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown cluster command '", *verb, "' (want status)"));
  }
  if (absl::Status s = c.args.Check({"queue"}, 2); !s.ok()) return s;
  v1::GetClusterStatusRequest request;
  request.set_include_groups(true);
  request.set_queue_name(c.args.String("queue"));
  request.set_page_size(1000);
  absl::StatusOr<v1::GetClusterStatusResponse> r =
      c.client.GetClusterStatus(request, c.timeout);
  if (!r.ok()) return r.status();
  if (c.json) {
    c.out << Json(*r);
    return 0;
  }
  c.out << "cluster " << r->cluster_id() << " (answered by node "
        << r->answering_node_id() << ")\n\n";
  Table nodes({"NODE", "ADDRESS", "LIVENESS", "STATE", "METADATA", "LEADS",
               "REPLICAS", "VERSION"});
  for (const v1::Node& n : r->nodes()) {
    nodes.Add({absl::StrCat(n.node_id()), n.address(), Liveness(n.liveness()),
               NodeState(n.state()),
               n.metadata_role() == v1::METADATA_ROLE_VOTER     ? "voter"
               : n.metadata_role() == v1::METADATA_ROLE_LEARNER ? "learner"
                                                                : "-",
               absl::StrCat(n.leader_count()), absl::StrCat(n.replica_count()),
               n.version()});
  }
  c.out << nodes.Render() << "\n";
  Table groups({"GROUP", "QUEUE", "PARTITION", "LEADER", "TERM", "COMMIT",
                "APPLIED", "REPLICAS (node:lag)"});
  for (const v1::GroupStatus& g : r->groups()) {
    std::string replicas;
    for (const v1::ReplicaStatus& rs : g.replicas()) {
      absl::StrAppend(&replicas, replicas.empty() ? "" : " ", rs.node_id(), ":",
                      rs.lag());
    }
    const bool metadata = g.kind() == v1::GROUP_KIND_METADATA;
    groups.Add(
        {absl::StrCat(g.group_id()), metadata ? "(metadata)" : g.queue_name(),
         metadata ? "-" : absl::StrCat(g.partition()),
         g.leader_node_id() == 0 ? "NONE" : absl::StrCat(g.leader_node_id()),
         absl::StrCat(g.term()), absl::StrCat(g.commit_index()),
         absl::StrCat(g.applied_index()), replicas.empty() ? "-" : replicas});
  }
  c.out << groups.Render();
  if (r->total_group_count() > static_cast<uint64_t>(r->groups_size())) {
    c.out << "(" << r->groups_size() << " of " << r->total_group_count()
          << " groups shown; filter with --queue=NAME)\n";
  }
  return 0;
}

}  // namespace sluice::cli
