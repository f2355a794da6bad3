#include "broker/partition/send_request.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "broker/partition/attributes.h"
#include "broker/partition/batch_checks.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "broker/queue/types.h"
#include "broker/queue/validation.h"

namespace sluice::broker {
namespace {

// The public reason for a field the queue's validation names.
v1::ErrorReason ReasonForField(std::string_view field, std::string_view msg) {
  if (absl::StrContains(AbslView(field), ".attributes")) {
    return v1::ERROR_REASON_INVALID_MESSAGE_ATTRIBUTE;
  }
  if (absl::EndsWith(AbslView(field), ".delay")) {
    return v1::ERROR_REASON_INVALID_DELAY;
  }
  if (absl::StrContains(AbslView(msg), "required")) {
    if (absl::EndsWith(AbslView(field), ".group_id")) {
      return v1::ERROR_REASON_GROUP_ID_REQUIRED;
    }
    if (absl::EndsWith(AbslView(field), ".dedup_id")) {
      return v1::ERROR_REASON_DEDUP_ID_REQUIRED;
    }
  }
  return v1::ERROR_REASON_UNSPECIFIED;
}

// The queue's validation names attributes by position in the stored list
// ("attributes[1]"); the public API names them by map key.
absl::Status FromQueueValidation(const absl::Status& s,
                                 const internal::SendEntry& converted,
                                 int index) {
  std::string message(s.message());
  for (int j = 0; j < converted.attributes_size(); ++j) {
    message = absl::StrReplaceAll(
        message, {{absl::StrFormat("entries[%d].attributes[%d]", index, j),
                   absl::StrFormat("entries[%d].attributes[%s]", index,
                                   converted.attributes(j).name())}});
  }
  const size_t colon = message.find(": ");
  const std::string field =
      colon == std::string::npos ? "" : message.substr(0, colon);
  return WithReason(absl::Status(s.code(), message),
                    ReasonForField(field, message), field);
}

absl::StatusOr<std::optional<absl::Duration>> EntryDelay(
    const v1::SendEntry& entry, const std::string& f,
    const SendContext& context) {
  const internal::QueueAttributes& attrs = *context.attributes;
  std::optional<absl::Duration> delay;
  std::string field;
  if (entry.has_delay()) {
    field = f + ".delay";
    delay = FromProtoDuration(entry.delay());
    if (*delay < absl::ZeroDuration()) {
      return InvalidField(field, "must not be negative",
                          v1::ERROR_REASON_INVALID_DELAY);
    }
  } else if (entry.has_deliver_at()) {
    field = f + ".deliver_at";
    delay = std::max(FromProtoTimestamp(entry.deliver_at()) - context.now,
                     absl::ZeroDuration());
  } else {
    return delay;
  }
  if (attrs.fifo()) {
    return InvalidField(field,
                        "FIFO queues take only the queue's delivery_delay",
                        v1::ERROR_REASON_INVALID_DELAY);
  }
  const absl::Duration retention = absl::Microseconds(attrs.retention_micros());
  if (*delay >= retention) {
    return InvalidField(field,
                        absl::StrFormat("%s is not below message_retention %s",
                                        absl::FormatDuration(*delay),
                                        absl::FormatDuration(retention)),
                        v1::ERROR_REASON_INVALID_DELAY);
  }
  return delay;
}

absl::Status ValidateProducer(const v1::SendRequest& request,
                              const SendContext& context,
                              uint64_t* first_sequence) {
  const std::string& id = request.producer_id();
  if (id.empty()) {
    if (request.producer_sequences_size() > 0) {
      return InvalidField("producer_sequences",
                          "must be empty without producer_id");
    }
    return absl::OkStatus();
  }
  bool ok = id.size() <= kMaxProducerIdLength;
  for (char c : id) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                c == '_' || c == '-');
  }
  if (!ok) {
    return InvalidField("producer_id", "must have 1 to 64 of A-Z a-z 0-9 _ -");
  }
  for (int i = 0; i < request.entries_size(); ++i) {
    if (!request.entries(i).has_partition()) {
      return InvalidField(
          absl::StrFormat("entries[%d].partition",
                          RequestIndex(context.request_indexes, i)),
          "required with producer_id");
    }
  }
  int found = 0;
  for (const v1::ProducerSequence& ps : request.producer_sequences()) {
    if (ps.partition() != context.partition) continue;
    ++found;
    *first_sequence = ps.first_sequence();
  }
  if (found != 1) {
    return InvalidField(
        "producer_sequences",
        absl::StrFormat("needs exactly one element for partition %d, has %d",
                        context.partition, found));
  }
  if (*first_sequence == 0) {
    return InvalidField("producer_sequences",
                        absl::StrFormat("first_sequence of partition %d must "
                                        "be at least 1",
                                        context.partition));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<internal::SendEntry> ConvertSendEntry(
    const v1::SendEntry& entry, int index, const SendContext& context) {
  const internal::QueueAttributes& attrs = *context.attributes;
  const std::string f = absl::StrFormat("entries[%d]", index);
  if (entry.has_partition() && entry.partition() != context.partition) {
    return InvalidField(
        f + ".partition",
        absl::StrFormat("is %d, but this request part is for partition %d",
                        entry.partition(), context.partition),
        v1::ERROR_REASON_WRONG_PARTITION);
  }
  internal::SendEntry out;
  out.set_body(entry.body());
  if (entry.attributes_size() > kMaxAttributes) {
    return InvalidField(
        f + ".attributes",
        absl::StrFormat("%d attributes, at most %d", entry.attributes_size(),
                        kMaxAttributes),
        v1::ERROR_REASON_INVALID_MESSAGE_ATTRIBUTE);
  }
  // Stored in name order, so that the command is deterministic.
  std::vector<const std::string*> names;
  for (const auto& [name, value] : entry.attributes()) names.push_back(&name);
  std::sort(names.begin(), names.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (const std::string* name : names) {
    absl::StatusOr<internal::MessageAttribute> a =
        ToStoredAttribute(*name, entry.attributes().at(*name),
                          absl::StrFormat("%s.attributes[%s]", f, *name));
    if (!a.ok()) return a.status();
    *out.add_attributes() = *std::move(a);
  }
  out.set_group_id(entry.group_id());
  out.set_dedup_id(entry.dedup_id());
  absl::StatusOr<std::optional<absl::Duration>> delay =
      EntryDelay(entry, f, context);
  if (!delay.ok()) return delay.status();
  if (delay->has_value()) {
    out.set_delay_micros(absl::ToInt64Microseconds(**delay));
  }
  const size_t size = MessageSize(out);
  if (size > attrs.max_message_size()) {
    return InvalidField(f + ".body",
                        absl::StrFormat("%d bytes exceeds max_message_size %d",
                                        size, attrs.max_message_size()),
                        v1::ERROR_REASON_MESSAGE_TOO_LARGE);
  }
  if (absl::Status s = ValidateSendEntry(out, attrs, index); !s.ok()) {
    return FromQueueValidation(s, out, index);
  }
  return out;
}

absl::StatusOr<SendPlan> PlanSend(const v1::SendRequest& request,
                                  const SendContext& context) {
  if (absl::Status s =
          ValidateBatch(request.entries(), context.request_indexes);
      !s.ok()) {
    return s;
  }
  size_t total = 0;
  for (const v1::SendEntry& e : request.entries()) {
    total += e.ByteSizeLong();
  }
  if (total > kMaxSendRequestBytes) {
    return InvalidField("entries",
                        absl::StrFormat("%d bytes in total, at most %d", total,
                                        kMaxSendRequestBytes),
                        v1::ERROR_REASON_BATCH_TOO_LARGE);
  }
  uint64_t first_sequence = 0;
  if (absl::Status s = ValidateProducer(request, context, &first_sequence);
      !s.ok()) {
    return s;
  }
  const bool idempotent = !request.producer_id().empty();
  SendPlan plan;
  if (idempotent) {
    plan.batch.set_producer_id(request.producer_id());
    plan.batch.set_first_producer_sequence(first_sequence);
  }
  for (int i = 0; i < request.entries_size(); ++i) {
    const int index = RequestIndex(context.request_indexes, i);
    absl::StatusOr<internal::SendEntry> entry =
        ConvertSendEntry(request.entries(i), index, context);
    if (!entry.ok()) {
      // The whole request fails, so no producer sequence is used up.
      if (idempotent) return entry.status();
      plan.batch_index.push_back(-1);
      plan.errors.push_back(entry.status());
      continue;
    }
    plan.batch_index.push_back(plan.batch.entries_size());
    plan.errors.push_back(absl::OkStatus());
    *plan.batch.add_entries() = *std::move(entry);
  }
  return plan;
}

}  // namespace sluice::broker
