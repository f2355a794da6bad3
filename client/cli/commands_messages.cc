// sluice send | receive | ack | peek | stats
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/cli/cli_errors.h"
#include "client/cli/cli_output.h"
#include "client/cli/commands.h"

namespace sluice::cli {
namespace {

// Bodies are shown as text when they are printable UTF-8-ish, else escaped.
std::string Printable(const std::string& body) {
  for (unsigned char ch : body) {
    if (ch < 0x20 && ch != '\t') return absl::CHexEscape(body);
  }
  return body;
}

std::string AttributeText(const v1::MessageAttributeValue& v) {
  switch (v.value_case()) {
    case v1::MessageAttributeValue::kStringValue:
      return v.string_value();
    case v1::MessageAttributeValue::kNumberValue:
      return v.number_value();
    case v1::MessageAttributeValue::kBinaryValue:
      return absl::StrCat("base64:", absl::Base64Escape(v.binary_value()));
    default:
      return "";
  }
}

std::string StateName(v1::MessageState s) {
  switch (s) {
    case v1::MESSAGE_STATE_VISIBLE:
      return "visible";
    case v1::MESSAGE_STATE_IN_FLIGHT:
      return "in-flight";
    case v1::MESSAGE_STATE_DELAYED:
      return "delayed";
    default:
      return "-";
  }
}

// One message as text: a header line and the body.
void PrintMessage(Context& c, const v1::Message& m, bool with_state) {
  c.out << "message " << m.message_id() << "  partition " << m.partition()
        << "  seq " << m.sequence_number() << "  receives "
        << m.receive_count();
  if (!m.group_id().empty()) c.out << "  group " << m.group_id();
  if (with_state) c.out << "  " << StateName(m.state());
  c.out << "\n";
  for (const auto& [name, value] : m.attributes()) {
    c.out << "  attribute " << name << " = " << AttributeText(value) << "\n";
  }
  if (!m.receipt_handle().empty()) {
    c.out << "  receipt  " << m.receipt_handle() << "\n";
  }
  c.out << "  body     " << Printable(m.body()) << "\n";
}

absl::StatusOr<client::OutgoingMessage> Template(const Args& args) {
  client::OutgoingMessage m;
  m.group_id = args.String("group");
  m.dedup_id = args.String("dedup");
  if (args.Has("delay")) {
    absl::StatusOr<absl::Duration> d =
        args.Duration("delay", absl::ZeroDuration());
    if (!d.ok()) return d.status();
    m.delay = *d;
  }
  absl::StatusOr<std::map<std::string, std::string>> attrs = args.Pairs("attr");
  if (!attrs.ok()) return attrs.status();
  for (const auto& [k, v] : *attrs) m.attributes[k].set_string_value(v);
  return m;
}

}  // namespace

absl::StatusOr<int> RunSend(Context& c) {
  if (absl::Status s =
          c.args.Check({"file", "stdin", "group", "dedup", "delay", "attr"}, 3);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> queue = c.args.Word(1, "queue name");
  if (!queue.ok()) return queue.status();
  absl::StatusOr<client::OutgoingMessage> base = Template(c.args);
  if (!base.ok()) return base.status();
  const int sources = (c.args.positional().size() > 2 ? 1 : 0) +
                      (c.args.Has("file") ? 1 : 0) +
                      (c.args.Bool("stdin") ? 1 : 0);
  if (sources != 1) {
    return absl::InvalidArgumentError(
        "give the body one way: as an argument, --file=PATH, or --stdin (one "
        "message per line)");
  }
  std::vector<client::OutgoingMessage> messages;
  if (c.args.Bool("stdin")) {
    std::string line;
    int n = 0;
    while (std::getline(c.in, line)) {
      client::OutgoingMessage m = *base;
      m.body = line;
      // A dedup id given once would make every line after the first a
      // duplicate: number them.
      if (!m.dedup_id.empty()) m.dedup_id = absl::StrCat(m.dedup_id, "-", n);
      ++n;
      messages.push_back(std::move(m));
    }
  } else {
    client::OutgoingMessage m = *base;
    if (c.args.Has("file")) {
      std::ifstream file(c.args.String("file"), std::ios::binary);
      if (!file) {
        return absl::InvalidArgumentError(
            absl::StrCat("--file: cannot read ", c.args.String("file")));
      }
      std::stringstream content;
      content << file.rdbuf();
      m.body = content.str();
    } else {
      m.body = c.args.positional()[2];
    }
    messages.push_back(std::move(m));
  }
  if (messages.empty())
    return absl::InvalidArgumentError("stdin: no lines to send");
  std::vector<absl::StatusOr<client::SendReceipt>> results =
      c.client.Send(*queue, std::move(messages), c.timeout);
  int failed = 0;
  absl::Status first_error;
  v1::SendResponse json;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    v1::SendResult* out = json.add_results();
    out->set_entry_id(absl::StrCat(i));
    if (!r.ok()) {
      ++failed;
      if (first_error.ok()) first_error = r.status();
      out->mutable_status()->set_code(static_cast<int>(r.status().code()));
      out->mutable_status()->set_message(std::string(r.status().message()));
      continue;
    }
    out->set_message_id(r->message_id);
    out->set_partition(r->partition);
    out->set_sequence_number(r->sequence_number);
    out->set_duplicate(r->duplicate);
    if (!c.json) {
      c.out << "sent "
            << (r->message_id.empty() ? "(id forgotten)" : r->message_id)
            << "  partition " << r->partition << "  seq " << r->sequence_number
            << (r->duplicate ? "  (duplicate)" : "") << "\n";
    }
  }
  if (c.json) c.out << Json(json);
  if (failed == static_cast<int>(results.size())) return first_error;
  if (failed > 0 && !c.json) {
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) {
        c.out << "message " << i << " failed: " << results[i].status().message()
              << "\n";
      }
    }
  }
  return failed > 0 ? kExitPartial : kExitOk;
}

absl::StatusOr<int> RunReceive(Context& c) {
  if (absl::Status s =
          c.args.Check({"wait", "max", "ack", "visibility-timeout"}, 2);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> queue = c.args.Word(1, "queue name");
  if (!queue.ok()) return queue.status();
  client::ReceiveOptions options;
  absl::StatusOr<int64_t> max = c.args.Int("max", 1, 1, 100);
  if (!max.ok()) return max.status();
  options.max_messages = static_cast<int>(*max);
  absl::StatusOr<absl::Duration> wait =
      c.args.Duration("wait", absl::ZeroDuration());
  if (!wait.ok()) return wait.status();
  options.wait = *wait;
  if (c.args.Has("visibility-timeout")) {
    absl::StatusOr<absl::Duration> v =
        c.args.Duration("visibility-timeout", absl::ZeroDuration());
    if (!v.ok()) return v.status();
    options.visibility_timeout = *v;
  }
  absl::StatusOr<std::vector<v1::Message>> messages =
      c.client.Receive(*queue, options, c.timeout);
  if (!messages.ok()) return messages.status();
  int code = kExitOk;
  if (c.args.Bool("ack") && !messages->empty()) {
    std::vector<std::string> handles;
    for (const v1::Message& m : *messages)
      handles.push_back(m.receipt_handle());
    absl::StatusOr<std::vector<absl::Status>> acked =
        c.client.Delete(*queue, handles, c.timeout);
    if (!acked.ok()) return acked.status();
    for (const absl::Status& s : *acked) {
      if (!s.ok()) {
        code = kExitPartial;
        std::cerr << "ack failed: " << s << "\n";
      }
    }
  }
  if (c.json) {
    v1::ReceiveResponse response;
    for (const v1::Message& m : *messages) *response.add_messages() = m;
    c.out << Json(response);
  } else if (messages->empty()) {
    c.out << "no messages\n";
  } else {
    for (const v1::Message& m : *messages) PrintMessage(c, m, false);
    if (c.args.Bool("ack"))
      c.out << "acknowledged " << messages->size() << "\n";
  }
  return code;
}

absl::StatusOr<int> RunAck(Context& c) {
  if (absl::Status s = c.args.Check({}, 102); !s.ok()) return s;
  absl::StatusOr<std::string> queue = c.args.Word(1, "queue name");
  if (!queue.ok()) return queue.status();
  std::vector<std::string> handles(c.args.positional().begin() + 2,
                                   c.args.positional().end());
  if (handles.empty())
    return absl::InvalidArgumentError("missing receipt handle(s)");
  absl::StatusOr<std::vector<absl::Status>> acked =
      c.client.Delete(*queue, handles, c.timeout);
  if (!acked.ok()) return acked.status();
  int failed = 0;
  for (size_t i = 0; i < acked->size(); ++i) {
    if (!(*acked)[i].ok()) {
      ++failed;
      c.out << "failed " << handles[i] << ": " << (*acked)[i] << "\n";
    }
  }
  if (!c.json) c.out << "acknowledged " << acked->size() - failed << "\n";
  return failed == 0 ? kExitOk : kExitPartial;
}

absl::StatusOr<int> RunPeek(Context& c) {
  if (absl::Status s = c.args.Check({"limit", "partition", "omit-body"}, 2);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> queue = c.args.Word(1, "queue name");
  if (!queue.ok()) return queue.status();
  v1::PeekRequest request;
  request.set_queue_name(*queue);
  absl::StatusOr<int64_t> limit = c.args.Int("limit", 10, 1, 1000);
  if (!limit.ok()) return limit.status();
  request.set_limit(static_cast<uint32_t>(*limit));
  if (c.args.Has("partition")) {
    absl::StatusOr<int64_t> p = c.args.Int("partition", 0, 0, 100000);
    if (!p.ok()) return p.status();
    request.set_partition(static_cast<uint32_t>(*p));
  }
  request.set_omit_body(c.args.Bool("omit-body"));
  absl::StatusOr<v1::PeekResponse> r = c.client.Peek(request, c.timeout);
  if (!r.ok()) return r.status();
  if (c.json) {
    c.out << Json(*r);
  } else if (r->messages().empty()) {
    c.out << "no messages\n";
  } else {
    for (const v1::Message& m : r->messages()) PrintMessage(c, m, true);
  }
  return 0;
}

absl::StatusOr<int> RunStats(Context& c) {
  if (absl::Status s = c.args.Check({"by-partition", "groups"}, 2); !s.ok())
    return s;
  absl::StatusOr<std::string> queue = c.args.Word(1, "queue name");
  if (!queue.ok()) return queue.status();
  v1::GetQueueStatsRequest request;
  request.set_queue_name(*queue);
  request.set_include_partitions(c.args.Bool("by-partition"));
  absl::StatusOr<int64_t> groups = c.args.Int("groups", 0, 0, 1000);
  if (!groups.ok()) return groups.status();
  request.set_group_page_size(static_cast<uint32_t>(*groups));
  absl::StatusOr<v1::GetQueueStatsResponse> r =
      c.client.GetQueueStats(request, c.timeout);
  if (!r.ok()) return r.status();
  if (c.json) {
    c.out << Json(*r);
    return 0;
  }
  auto row = [](const std::string& name, const v1::MessageCounts& n) {
    return std::vector<std::string>{name,
                                    absl::StrCat(n.visible_count()),
                                    absl::StrCat(n.in_flight_count()),
                                    absl::StrCat(n.delayed_count()),
                                    FormatBytes(n.backlog_bytes()),
                                    FormatDuration(n.oldest_message_age()),
                                    absl::StrCat(n.sent_count()),
                                    absl::StrCat(n.received_count()),
                                    absl::StrCat(n.deleted_count()),
                                    absl::StrCat(n.dead_lettered_count())};
  };
  Table t({"", "VISIBLE", "IN_FLIGHT", "DELAYED", "BYTES", "OLDEST", "SENT",
           "RECEIVED", "DELETED", "DEAD_LETTERED"});
  t.Add(row(*queue, r->counts()));
  for (const v1::PartitionStats& p : r->partitions()) {
    std::vector<std::string> cells =
        row(absl::StrCat("  partition ", p.partition()), p.counts());
    if (!p.available()) cells[0] += " (stale)";
    t.Add(cells);
  }
  c.out << t.Render();
  if (r->group_count() > 0 || r->groups_size() > 0) {
    c.out << "\nmessage groups: " << r->group_count() << " with messages, "
          << r->groups_in_flight_count() << " with a message in flight\n";
  }
  if (r->groups_size() > 0) {
    Table g(
        {"GROUP", "PARTITION", "VISIBLE", "IN_FLIGHT", "DELAYED", "OLDEST"});
    for (const v1::GroupStats& s : r->groups()) {
      g.Add({s.group_id(), absl::StrCat(s.partition()),
             absl::StrCat(s.visible_count()), absl::StrCat(s.in_flight_count()),
             absl::StrCat(s.delayed_count()),
             FormatDuration(s.oldest_message_age())});
    }
    c.out << g.Render();
  }
  return 0;
}

}  // namespace sluice::cli
