#include "broker/partition/message_view.h"

#include "broker/partition/attributes.h"
#include "broker/partition/proto_time.h"
#include "broker/partition/public_ids.h"

namespace sluice::broker {

uint32_t StoredMessageSize(const internal::StoredBody& body) {
  size_t size = body.body().size();
  for (const internal::MessageAttribute& a : body.attributes()) {
    size += a.name().size() + a.data_type().size() + a.string_value().size() +
            a.binary_value().size();
  }
  return static_cast<uint32_t>(size);
}

v1::Message ToPublicMessage(const StoredMessage& message,
                            const MessageViewOptions& options) {
  v1::Message out;
  out.set_message_id(
      FormatMessageId(options.queue_id, options.partition, message.seq));
  out.set_partition(options.partition);
  out.set_sequence_number(message.seq.value());
  if (!options.omit_body) out.set_body(message.body.body());
  for (const internal::MessageAttribute& a : message.body.attributes()) {
    if (options.attribute_names == nullptr ||
        AttributeSelected(*options.attribute_names, a.name())) {
      (*out.mutable_attributes())[a.name()] = ToPublicAttribute(a);
    }
  }
  out.set_group_id(message.meta.group_id());
  out.set_dedup_id(message.meta.dedup_id());
  *out.mutable_sent_time() =
      ToProtoTimestamp(absl::FromUnixMicros(message.meta.sent_micros()));
  out.set_receive_count(message.state.receive_count());
  if (message.first_receive.has_value()) {
    *out.mutable_first_receive_time() =
        ToProtoTimestamp(*message.first_receive);
  }
  out.set_size_bytes(StoredMessageSize(message.body));
  if (message.meta.has_moved_from()) {
    const internal::MovedFrom& from = message.meta.moved_from();
    v1::DeadLetterSource* source = out.mutable_dead_letter_source();
    source->set_source_queue_name(from.source_queue());
    source->set_source_receive_count(from.receive_count());
    source->set_reason(v1::DEAD_LETTER_REASON_MAX_RECEIVE_COUNT);
  }
  return out;
}

}  // namespace sluice::broker
