// sluice queue create|list|get|update|delete|purge
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli/cli_output.h"
#include "client/cli/commands.h"
#include "google/protobuf/util/time_util.h"

namespace sluice::cli {
namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Duration ToProto(absl::Duration d) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

std::string TypeName(v1::QueueType type) {
  return type == v1::QUEUE_TYPE_FIFO ? "fifo" : "standard";
}

void PrintQueue(Context& c, const v1::Queue& q) {
  if (c.json) {
    c.out << Json(q);
    return;
  }
  const v1::QueueAttributes& a = q.attributes();
  Table t({"attribute", "value"});
  t.Add({"name", q.queue_name()});
  t.Add({"type", TypeName(q.type())});
  t.Add({"queue_id", absl::StrCat(q.queue_id())});
  t.Add({"partitions", absl::StrCat(a.partition_count())});
  t.Add({"replication_factor", absl::StrCat(a.replication_factor())});
  t.Add({"visibility_timeout", FormatDuration(a.visibility_timeout())});
  t.Add({"delivery_delay", FormatDuration(a.delivery_delay())});
  t.Add({"message_retention", FormatDuration(a.message_retention())});
  t.Add({"receive_wait_time", FormatDuration(a.receive_wait_time())});
  t.Add({"max_message_size", FormatBytes(a.max_message_size_bytes())});
  if (q.type() == v1::QUEUE_TYPE_FIFO) {
    t.Add({"content_based_dedup", a.content_based_dedup() ? "true" : "false"});
  }
  t.Add({"dedup_window", FormatDuration(a.dedup_window())});
  t.Add({"dead_letter_queue",
         a.has_redrive_policy()
             ? absl::StrCat(a.redrive_policy().dead_letter_queue_name(),
                            " after ", a.redrive_policy().max_receive_count(),
                            " receives")
             : "-"});
  t.Add({"retry_backoff",
         a.has_retry_policy()
             ? absl::StrCat(FormatDuration(a.retry_policy().initial_backoff()),
                            " .. ",
                            FormatDuration(a.retry_policy().max_backoff()),
                            " x", a.retry_policy().multiplier())
             : "-"});
  t.Add({"max_backlog_messages", a.max_backlog_messages() == 0
                                     ? "unlimited"
                                     : absl::StrCat(a.max_backlog_messages())});
  t.Add({"max_backlog_bytes", a.max_backlog_bytes() == 0
                                  ? "unlimited"
                                  : FormatBytes(a.max_backlog_bytes())});
  for (const auto& [k, v] : q.tags()) t.Add({absl::StrCat("tag ", k), v});
  t.Add({"created", FormatTime(q.create_time())});
  c.out << t.Render();
}

absl::StatusOr<int> Create(Context& c, const std::string& name) {
  v1::CreateQueueRequest request;
  request.set_queue_name(name);
  if (c.args.Bool("fifo")) request.set_type(v1::QUEUE_TYPE_FIFO);
  absl::StatusOr<v1::QueueAttributes> attributes =
      AttributesFromFlags(c.args, nullptr);
  if (!attributes.ok()) return attributes.status();
  *request.mutable_attributes() = *attributes;
  absl::StatusOr<std::map<std::string, std::string>> tags = c.args.Pairs("tag");
  if (!tags.ok()) return tags.status();
  for (const auto& [k, v] : *tags) (*request.mutable_tags())[k] = v;
  absl::StatusOr<v1::CreateQueueResponse> response =
      c.client.CreateQueue(request, c.timeout);
  if (!response.ok()) return response.status();
  if (c.json) {
    c.out << Json(*response);
  } else {
    c.out << (response->created() ? "created " : "exists (same attributes) ")
          << TypeName(response->queue().type()) << " queue "
          << response->queue().queue_name() << " with "
          << response->queue().attributes().partition_count()
          << " partition(s)\n";
  }
  return 0;
}

absl::StatusOr<int> List(Context& c) {
  absl::StatusOr<std::vector<v1::Queue>> queues =
      c.client.ListQueues(c.args.String("prefix"), c.timeout);
  if (!queues.ok()) return queues.status();
  if (c.json) {
    v1::ListQueuesResponse all;
    for (const v1::Queue& q : *queues) *all.add_queues() = q;
    c.out << Json(all);
    return 0;
  }
  Table t({"NAME", "TYPE", "PARTITIONS", "RF", "VISIBILITY", "DLQ"});
  for (const v1::Queue& q : *queues) {
    const v1::QueueAttributes& a = q.attributes();
    t.Add({q.queue_name(), TypeName(q.type()),
           absl::StrCat(a.partition_count()),
           absl::StrCat(a.replication_factor()),
           FormatDuration(a.visibility_timeout()),
           a.has_redrive_policy() ? a.redrive_policy().dead_letter_queue_name()
                                  : "-"});
  }
  if (t.empty()) {
    c.out << "no queues\n";
  } else {
    c.out << t.Render();
  }
  return 0;
}

absl::StatusOr<int> Update(Context& c, const std::string& name) {
  v1::UpdateQueueRequest request;
  request.set_queue_name(name);
  std::vector<std::string> mask;
  absl::StatusOr<v1::QueueAttributes> attributes =
      AttributesFromFlags(c.args, &mask);
  if (!attributes.ok()) return attributes.status();
  *request.mutable_attributes() = *attributes;
  if (c.args.Has("tag")) {
    absl::StatusOr<std::map<std::string, std::string>> tags =
        c.args.Pairs("tag");
    if (!tags.ok()) return tags.status();
    for (const auto& [k, v] : *tags) (*request.mutable_tags())[k] = v;
    mask.push_back("tags");
  }
  if (mask.empty()) {
    return absl::InvalidArgumentError(
        "nothing to change: give attribute flags (see `sluice help queue`)");
  }
  for (const std::string& path : mask)
    request.mutable_update_mask()->add_paths(path);
  absl::StatusOr<v1::Queue> queue = c.client.UpdateQueue(request, c.timeout);
  if (!queue.ok()) return queue.status();
  PrintQueue(c, *queue);
  return 0;
}

}  // namespace

const std::set<std::string>& AttributeFlags() {
  static const auto* flags = new std::set<std::string>{"partitions",
                                                       "replication",
                                                       "visibility-timeout",
                                                       "delay",
                                                       "retention",
                                                       "receive-wait",
                                                       "max-message-size",
                                                       "content-dedup",
                                                       "dedup-window",
                                                       "dlq",
                                                       "max-receives",
                                                       "no-dlq",
                                                       "retry-initial",
                                                       "retry-max",
                                                       "max-backlog-messages",
                                                       "max-backlog-bytes"};
  return *flags;
}

absl::StatusOr<v1::QueueAttributes> AttributesFromFlags(
    const Args& args, std::vector<std::string>* mask) {
  v1::QueueAttributes a;
  auto note = [&](const std::string& path) {
    if (mask != nullptr) mask->push_back(absl::StrCat("attributes.", path));
  };
  struct DurationFlag {
    const char* flag;
    const char* path;
    google::protobuf::Duration* (v1::QueueAttributes::*field)();
  };
  const DurationFlag durations[] = {
      {"visibility-timeout", "visibility_timeout",
       &v1::QueueAttributes::mutable_visibility_timeout},
      {"delay", "delivery_delay", &v1::QueueAttributes::mutable_delivery_delay},
      {"retention", "message_retention",
       &v1::QueueAttributes::mutable_message_retention},
      {"receive-wait", "receive_wait_time",
       &v1::QueueAttributes::mutable_receive_wait_time},
      {"dedup-window", "dedup_window",
       &v1::QueueAttributes::mutable_dedup_window},
  };
  for (const DurationFlag& d : durations) {
    if (!args.Has(d.flag)) continue;
    absl::StatusOr<absl::Duration> value =
        args.Duration(d.flag, absl::ZeroDuration());
    if (!value.ok()) return value.status();
    *(a.*d.field)() = ToProto(*value);
    note(d.path);
  }
  if (args.Has("partitions")) {
    absl::StatusOr<int64_t> n = args.Int("partitions", 1, 1, 1000);
    if (!n.ok()) return n.status();
    a.set_partition_count(static_cast<uint32_t>(*n));
    note("partition_count");
  }
  if (args.Has("replication")) {
    absl::StatusOr<int64_t> n = args.Int("replication", 3, 1, 9);
    if (!n.ok()) return n.status();
    a.set_replication_factor(static_cast<uint32_t>(*n));
    note("replication_factor");
  }
  if (args.Has("max-message-size")) {
    absl::StatusOr<int64_t> n =
        args.Int("max-message-size", 0, 1, int64_t{1} << 30);
    if (!n.ok()) return n.status();
    a.set_max_message_size_bytes(static_cast<uint32_t>(*n));
    note("max_message_size_bytes");
  }
  if (args.Has("content-dedup")) {
    a.set_content_based_dedup(args.Bool("content-dedup"));
    note("content_based_dedup");
  }
  if (args.Has("max-backlog-messages")) {
    absl::StatusOr<int64_t> n =
        args.Int("max-backlog-messages", 0, 0, int64_t{1} << 62);
    if (!n.ok()) return n.status();
    a.set_max_backlog_messages(static_cast<uint64_t>(*n));
    note("max_backlog_messages");
  }
  if (args.Has("max-backlog-bytes")) {
    absl::StatusOr<int64_t> n =
        args.Int("max-backlog-bytes", 0, 0, int64_t{1} << 62);
    if (!n.ok()) return n.status();
    a.set_max_backlog_bytes(static_cast<uint64_t>(*n));
    note("max_backlog_bytes");
  }
  if (args.Has("dlq") || args.Has("max-receives")) {
    if (!args.Has("dlq") || !args.Has("max-receives")) {
      return absl::InvalidArgumentError(
          "--dlq and --max-receives go together (the dead-letter queue and "
          "after how many receives a message goes there)");
    }
    absl::StatusOr<int64_t> n = args.Int("max-receives", 0, 1, 1000);
    if (!n.ok()) return n.status();
    a.mutable_redrive_policy()->set_dead_letter_queue_name(args.String("dlq"));
    a.mutable_redrive_policy()->set_max_receive_count(
        static_cast<uint32_t>(*n));
    note("redrive_policy");
  } else if (args.Bool("no-dlq")) {
    note("redrive_policy");  // in the mask, unset: removed
  }
  if (args.Has("retry-initial") || args.Has("retry-max")) {
    absl::StatusOr<absl::Duration> initial =
        args.Duration("retry-initial", absl::Seconds(1));
    if (!initial.ok()) return initial.status();
    absl::StatusOr<absl::Duration> max =
        args.Duration("retry-max", absl::Minutes(5));
    if (!max.ok()) return max.status();
    *a.mutable_retry_policy()->mutable_initial_backoff() = ToProto(*initial);
    *a.mutable_retry_policy()->mutable_max_backoff() = ToProto(*max);
    a.mutable_retry_policy()->set_multiplier(2.0);
    note("retry_policy");
  }
  return a;
}

absl::StatusOr<int> RunQueue(Context& c) {
  absl::StatusOr<std::string> verb = c.args.Word(
      1, "queue command (create, list, get, update, delete, purge)");
  if (!verb.ok()) return verb.status();
  if (*verb == "list") {
    if (absl::Status s = c.args.Check({"prefix"}, 2); !s.ok()) return s;
    return List(c);
  }
  absl::StatusOr<std::string> name = c.args.Word(2, "queue name");
  if (!name.ok()) return name.status();
  if (*verb == "create") {
    std::set<std::string> allowed = AttributeFlags();
    allowed.insert({"fifo", "tag"});
    if (absl::Status s = c.args.Check(allowed, 3); !s.ok()) return s;
    return Create(c, *name);
  }
  if (*verb == "get") {
    if (absl::Status s = c.args.Check({}, 3); !s.ok()) return s;
    absl::StatusOr<v1::GetQueueResponse> r =
        c.client.GetQueue(*name, c.timeout);
    if (!r.ok()) return r.status();
    if (c.json) {
      c.out << Json(*r);
      return 0;
    }
    PrintQueue(c, r->queue());
    Table routes({"PARTITION", "GROUP", "LEADER", "ADDRESS"});
    for (const v1::PartitionRoute& p : r->partition_routes()) {
      routes.Add(
          {absl::StrCat(p.partition()), absl::StrCat(p.group_id()),
           p.leader_node_id() == 0 ? "-" : absl::StrCat(p.leader_node_id()),
           p.leader_address().empty() ? "-" : p.leader_address()});
    }
    c.out << "\n" << routes.Render();
    return 0;
  }
  if (*verb == "update") {
    std::set<std::string> allowed = AttributeFlags();
    allowed.insert("tag");
    if (absl::Status s = c.args.Check(allowed, 3); !s.ok()) return s;
    return Update(c, *name);
  }
  if (*verb == "delete") {
    if (absl::Status s = c.args.Check({"force"}, 3); !s.ok()) return s;
    absl::Status s =
        c.client.DeleteQueue(*name, c.args.Bool("force"), c.timeout);
    if (!s.ok()) return s;
    if (!c.json) c.out << "deleted queue " << *name << "\n";
    if (c.json) c.out << "{}\n";
    return 0;
  }
  if (*verb == "purge") {
    if (absl::Status s = c.args.Check({}, 3); !s.ok()) return s;
    absl::StatusOr<v1::PurgeQueueResponse> r =
        c.client.PurgeQueue(*name, c.timeout);
    if (!r.ok()) return r.status();
    if (c.json) {
      c.out << Json(*r);
    } else {
      c.out << "purged " << r->purged_count() << " message(s) from " << *name
            << "\n";
    }
    return 0;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown queue command '", *verb,
                   "' (want create, list, get, update, delete or purge)"));
}

}  // namespace sluice::cli
