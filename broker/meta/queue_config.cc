#include "broker/meta/queue_config.h"

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/meta/queue_names.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"

namespace sluice::meta {
namespace {

using broker::FromProtoDuration;
using broker::InvalidField;
using broker::ToProtoDuration;
using google::protobuf::Duration;

constexpr char kFifoSuffix[] = ".fifo";

// A duration attribute: the default when unset, else checked in [lo, hi].
absl::Status ResolveDuration(bool has, Duration* value, absl::Duration fallback,
                             absl::Duration lo, absl::Duration hi,
                             const std::string& field) {
  if (!has) {
    *value = ToProtoDuration(fallback);
    return absl::OkStatus();
  }
  if (value->seconds() < 0 || value->nanos() < 0) {
    return InvalidField(field, "must not be negative");
  }
  const absl::Duration d = FromProtoDuration(*value);
  if (d < lo || d > hi) {
    return InvalidField(
        field, absl::StrCat("must be between ", absl::FormatDuration(lo),
                            " and ", absl::FormatDuration(hi)));
  }
  *value = ToProtoDuration(d);  // normalised to whole milliseconds
  return absl::OkStatus();
}

absl::Status ResolveRetryPolicy(v1::RetryPolicy& p) {
  // Presence first: mutable_*() would create the field.
  const bool has_initial = p.has_initial_backoff();
  const bool has_max = p.has_max_backoff();
  if (absl::Status s = ResolveDuration(
          has_initial, p.mutable_initial_backoff(), absl::Seconds(1),
          absl::ZeroDuration(), absl::Hours(12),
          "attributes.retry_policy.initial_backoff");
      !s.ok()) {
    return s;
  }
  const absl::Duration initial = FromProtoDuration(p.initial_backoff());
  if (absl::Status s = ResolveDuration(has_max, p.mutable_max_backoff(),
                                       std::max(initial, absl::Minutes(10)),
                                       initial, absl::Hours(12),
                                       "attributes.retry_policy.max_backoff");
      !s.ok()) {
    return s;
  }
  if (p.multiplier() == 0) p.set_multiplier(2.0);
  // The replicated state machine doubles the delay per receive; other
  // factors would need a new log command, so they are refused rather than
  // silently ignored.
  if (p.multiplier() != 2.0) {
    return InvalidField("attributes.retry_policy.multiplier",
                        "only 2.0 is supported in this version");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<bool> ResolveFifo(const v1::CreateQueueRequest& request) {
  const bool named_fifo = absl::EndsWith(request.queue_name(), kFifoSuffix);
  switch (request.type()) {
    case v1::QUEUE_TYPE_UNSPECIFIED:
      return named_fifo;
    case v1::QUEUE_TYPE_STANDARD:
      if (named_fifo) {
        return InvalidField("type",
                            "a standard queue's name must not end in .fifo");
      }
      return false;
    case v1::QUEUE_TYPE_FIFO:
      if (!named_fifo) {
        return InvalidField("type", "a FIFO queue's name must end in .fifo");
      }
      return true;
    default:
      return InvalidField("type", "unknown queue type");
  }
}

absl::StatusOr<v1::QueueAttributes> ResolveAttributes(
    const v1::QueueAttributes& given, bool fifo, uint32_t cluster_nodes) {
  v1::QueueAttributes a = given;
  struct DurationAttribute {
    bool has;
    Duration* value;
    absl::Duration fallback, lo, hi;
    const char* field;
  };
  const DurationAttribute durations[] = {
      {given.has_visibility_timeout(), a.mutable_visibility_timeout(),
       absl::Seconds(30), absl::ZeroDuration(), absl::Hours(12),
       "attributes.visibility_timeout"},
      {given.has_delivery_delay(), a.mutable_delivery_delay(),
       absl::ZeroDuration(), absl::ZeroDuration(), absl::Minutes(15),
       "attributes.delivery_delay"},
      {given.has_message_retention(), a.mutable_message_retention(),
       absl::Hours(96), absl::Seconds(60), absl::Hours(14 * 24),
       "attributes.message_retention"},
      {given.has_receive_wait_time(), a.mutable_receive_wait_time(),
       absl::ZeroDuration(), absl::ZeroDuration(), absl::Seconds(20),
       "attributes.receive_wait_time"},
      {given.has_dedup_window(), a.mutable_dedup_window(), absl::Minutes(5),
       absl::Seconds(10), absl::Hours(24), "attributes.dedup_window"},
  };
  for (const DurationAttribute& d : durations) {
    if (absl::Status s =
            ResolveDuration(d.has, d.value, d.fallback, d.lo, d.hi, d.field);
        !s.ok()) {
      return s;
    }
  }
  if (!a.has_max_message_size_bytes()) a.set_max_message_size_bytes(262144);
  if (a.max_message_size_bytes() < 1024 ||
      a.max_message_size_bytes() > 1048576) {
    return InvalidField("attributes.max_message_size_bytes",
                        "must be between 1024 and 1048576");
  }
  if (!a.has_content_based_dedup()) a.set_content_based_dedup(false);
  if (!a.has_partition_count()) a.set_partition_count(1);
  if (a.partition_count() < 1 || a.partition_count() > 1024) {
    return InvalidField("attributes.partition_count",
                        "must be between 1 and 1024");
  }
  if (!a.has_replication_factor()) {
    a.set_replication_factor(std::min<uint32_t>(3, cluster_nodes));
  }
  if (a.replication_factor() < 1 || a.replication_factor() > 7) {
    return InvalidField("attributes.replication_factor",
                        "must be between 1 and 7");
  }
  if (a.replication_factor() > cluster_nodes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "attributes.replication_factor: ", a.replication_factor(),
        " replicas need as many nodes; ", "the cluster has ", cluster_nodes));
  }
  if (!a.has_dedup_scope() || a.dedup_scope() == v1::DEDUP_SCOPE_UNSPECIFIED) {
    a.set_dedup_scope(fifo && a.partition_count() > 1
                          ? v1::DEDUP_SCOPE_MESSAGE_GROUP
                          : v1::DEDUP_SCOPE_QUEUE);
  }
  if (a.dedup_scope() == v1::DEDUP_SCOPE_MESSAGE_GROUP && !fifo) {
    return InvalidField("attributes.dedup_scope",
                        "MESSAGE_GROUP applies to FIFO queues only",
                        v1::ERROR_REASON_ATTRIBUTE_NOT_APPLICABLE);
  }
  if (a.dedup_scope() == v1::DEDUP_SCOPE_QUEUE && fifo &&
      a.partition_count() > 1) {
    return InvalidField("attributes.dedup_scope",
                        "QUEUE scope on a FIFO queue needs partition_count 1");
  }
  if (!a.has_max_backlog_messages()) a.set_max_backlog_messages(0);
  if (!a.has_max_backlog_bytes()) a.set_max_backlog_bytes(0);
  if (a.has_redrive_policy()) {
    const v1::RedrivePolicy& r = a.redrive_policy();
    if (r.dead_letter_queue_name().empty()) {
      return InvalidField("attributes.redrive_policy.dead_letter_queue_name",
                          "required");
    }
    if (r.max_receive_count() < 1 || r.max_receive_count() > 1000) {
      return InvalidField("attributes.redrive_policy.max_receive_count",
                          "must be between 1 and 1000");
    }
  }
  if (a.has_retry_policy()) {
    if (absl::Status s = ResolveRetryPolicy(*a.mutable_retry_policy());
        !s.ok()) {
      return s;
    }
  }
  return a;
}

absl::Status CheckDeadLetterQueue(
    const v1::QueueAttributes& resolved, const std::string& queue_name,
    bool fifo, const sluice::internal::MetadataState& state) {
  if (!resolved.has_redrive_policy()) return absl::OkStatus();
  const std::string& dlq = resolved.redrive_policy().dead_letter_queue_name();
  constexpr char kField[] = "attributes.redrive_policy.dead_letter_queue_name";
  if (dlq == queue_name) {
    return InvalidField(kField, "a queue cannot be its own dead-letter queue");
  }
  for (const auto& q : state.queues()) {
    if (q.name() != dlq) continue;
    if (q.attributes().fifo() != fifo) {
      return InvalidField(
          kField, absl::StrCat("queue '", dlq, "' is not of the same type"));
    }
    return absl::OkStatus();
  }
  return InvalidField(
      kField,
      absl::StrCat("queue '", dlq, "' does not exist; create it first"));
}

absl::Status ValidateTags(
    const google::protobuf::Map<std::string, std::string>& tags,
    const char* field) {
  if (tags.size() > 50) return InvalidField(field, "at most 50 tags");
  for (const auto& [key, value] : tags) {
    if (key.empty() || key.size() > 128) {
      return InvalidField(field, "tag keys must have 1-128 characters");
    }
    if (value.size() > 256) {
      return InvalidField(absl::StrCat(field, "[", key, "]"),
                          "tag values must have at most 256 characters");
    }
  }
  return absl::OkStatus();
}

sluice::internal::QueueAttributes ToInternalAttributes(
    const v1::QueueAttributes& a, bool fifo, const std::string& name) {
  auto micros = [](const Duration& d) {
    return absl::ToInt64Microseconds(FromProtoDuration(d));
  };
  sluice::internal::QueueAttributes out;
  out.set_fifo(fifo);
  out.set_name(name);
  out.set_visibility_timeout_micros(micros(a.visibility_timeout()));
  out.set_delay_micros(micros(a.delivery_delay()));
  out.set_retention_micros(micros(a.message_retention()));
  out.set_max_message_size(a.max_message_size_bytes());
  out.set_content_based_dedup(a.content_based_dedup());
  out.set_dedup_window_micros(micros(a.dedup_window()));
  if (a.has_redrive_policy()) {
    out.mutable_redrive_policy()->set_dead_letter_target(
        a.redrive_policy().dead_letter_queue_name());
    out.mutable_redrive_policy()->set_max_receive_count(
        a.redrive_policy().max_receive_count());
  }
  if (a.has_retry_policy()) {
    out.mutable_retry_backoff()->set_initial_micros(
        micros(a.retry_policy().initial_backoff()));
    out.mutable_retry_backoff()->set_max_micros(
        micros(a.retry_policy().max_backoff()));
  }
  return out;
}

absl::StatusOr<v1::QueueAttributes> ApplyUpdate(
    const v1::QueueAttributes& current, bool fifo,
    const v1::UpdateQueueRequest& request, uint32_t cluster_nodes,
    bool* replace_tags) {
  *replace_tags = false;
  const v1::QueueAttributes& given = request.attributes();
  v1::QueueAttributes next = current;
  const google::protobuf::Descriptor* d = v1::QueueAttributes::descriptor();
  const google::protobuf::Reflection* r = v1::QueueAttributes::GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  if (request.update_mask().paths().empty()) {
    r->ListFields(given, &fields);  // every field set in the request
  } else {
    for (const std::string& path : request.update_mask().paths()) {
      if (path == "tags") {
        if (absl::Status s = ValidateTags(request.tags()); !s.ok()) return s;
        *replace_tags = true;
        continue;
      }
      const google::protobuf::FieldDescriptor* f = nullptr;
      if (absl::StartsWith(path, "attributes.")) {
        f = d->FindFieldByName(path.substr(sizeof("attributes.") - 1));
      }
      if (f == nullptr) {
        return InvalidField("update_mask",
                            absl::StrCat("unknown path '", path, "'"));
      }
      fields.push_back(f);
    }
  }
  for (const google::protobuf::FieldDescriptor* f : fields) {
    // Unset in the request: back to the default (resolved below).
    if (r->HasField(given, f)) {
      if (f->message_type() != nullptr) {
        r->MutableMessage(&next, f)->CopyFrom(r->GetMessage(given, f));
      } else {
        r->ClearField(&next, f);
        // Scalars with presence: copy through a temporary swap of one field.
        v1::QueueAttributes one;
        one.CopyFrom(given);
        std::vector<const google::protobuf::FieldDescriptor*> only = {f};
        r->SwapFields(&next, &one, only);
      }
    } else {
      r->ClearField(&next, f);
    }
  }
  for (const char* fixed : {"partition_count", "replication_factor"}) {
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(fixed);
    const bool changed = r->HasField(next, f) &&
                         r->GetUInt32(next, f) != r->GetUInt32(current, f);
    if (changed) {
      return InvalidField(absl::StrCat("attributes.", fixed),
                          "cannot be changed after creation",
                          v1::ERROR_REASON_ATTRIBUTE_IMMUTABLE);
    }
    r->SetUInt32(&next, f, r->GetUInt32(current, f));
  }
  return ResolveAttributes(
      next, fifo, std::max(cluster_nodes, current.replication_factor()));
}

v1::Queue ToPublicQueue(const sluice::internal::QueueRecord& record) {
  v1::Queue q;
  q.set_queue_name(record.name());
  q.set_queue_id(record.queue_id());
  q.set_type(record.attributes().fifo() ? v1::QUEUE_TYPE_FIFO
                                        : v1::QUEUE_TYPE_STANDARD);
  *q.mutable_attributes() = record.public_attributes();
  *q.mutable_tags() = record.tags();
  *q.mutable_create_time() =
      broker::ToProtoTimestamp(absl::FromUnixMicros(record.created_micros()));
  *q.mutable_update_time() =
      broker::ToProtoTimestamp(absl::FromUnixMicros(record.updated_micros()));
  q.set_partition_routing(v1::PARTITION_ROUTING_XXH64);
  return q;
}

}  // namespace sluice::meta
