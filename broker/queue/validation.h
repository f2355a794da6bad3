// Validation of what a client sends: INVALID_ARGUMENT with a message that
// names the field (e.g. "entries[3].attributes[0].name: ..."). Applied by the
// leader before it proposes and again by Apply, which must not trust the log
// to hold only valid commands.
#ifndef SLUICE_BROKER_QUEUE_VALIDATION_H_
#define SLUICE_BROKER_QUEUE_VALIDATION_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sluice/internal/commands.pb.h"

namespace sluice::broker {

// SQS's charset for group and dedup ids: 1..128 printable ASCII characters
// (alphanumerics and punctuation).
absl::Status ValidateId(std::string_view field, std::string_view id);

// Attribute names: 1..256 of [A-Za-z0-9_.-], not starting or ending with '.',
// no "..", not starting with "AWS." or "Amazon." (any case).
absl::Status ValidateAttributeName(std::string_view field,
                                   std::string_view name);

// Everything about one entry of a SendBatch, against the queue's attributes.
// `index` is the entry's position, for the field name.
absl::Status ValidateSendEntry(const internal::SendEntry& entry,
                               const internal::QueueAttributes& attrs,
                               int index);

// Size a message counts against max_message_size: body plus attribute names,
// types and values, as SQS counts it.
size_t MessageSize(const internal::SendEntry& entry);

// A visibility timeout or lease extension: 0 .. 12 h.
absl::Status ValidateVisibilityTimeout(std::string_view field,
                                       absl::Duration timeout);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_QUEUE_VALIDATION_H_
