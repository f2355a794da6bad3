// Errors in the public API's terms: an absl::Status carries the v1
// ErrorReason and the field path as payloads (the gRPC layer copies them to
// the trailing metadata `sluice-error-reason` / `sluice-error-field`), and
// converts to the per-entry EntryStatus of batch calls and stream items.
// Also: classifying the queue state machine's receipt-check failures.
#ifndef SLUICE_BROKER_PARTITION_ENTRY_STATUS_H_
#define SLUICE_BROKER_PARTITION_ENTRY_STATUS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "sluice/v1/types.pb.h"

namespace sluice::broker {

// Payload type URLs. Values: the ErrorReason name without "ERROR_REASON_"
// (e.g. "RECEIPT_HANDLE_STALE"), and the field path (e.g. "entries[3].body").
inline constexpr char kErrorReasonPayload[] = "sluice.v1/error-reason";
inline constexpr char kErrorFieldPayload[] = "sluice.v1/error-field";

// `status` with the reason and (if non-empty) the field attached.
absl::Status WithReason(absl::Status status, v1::ErrorReason reason,
                        std::string_view field = "");
v1::ErrorReason ReasonOf(const absl::Status& status);
std::string FieldOf(const absl::Status& status);

// INVALID_ARGUMENT "<field>: <what>" with the field and reason attached.
absl::Status InvalidField(
    std::string_view field, std::string_view what,
    v1::ErrorReason reason = v1::ERROR_REASON_UNSPECIFIED);

// The EntryStatus of `status`: code, reason, message, and the field path
// relative to the entry (an "entries[i]." prefix is dropped).
v1::EntryStatus ToEntryStatus(const absl::Status& status);

// What a receipt operation reports for the queue state machine's answer,
// per the public contract (types.proto, queues.proto):
enum class ReceiptOp { kDelete, kChangeLease };
// - stale handle -> FAILED_PRECONDITION, RECEIPT_HANDLE_STALE;
// - lease not held -> FAILED_PRECONDITION, MESSAGE_NOT_IN_FLIGHT;
// - message gone or leaving for another queue -> Delete: OK (idempotent);
//   ChangeVisibility/nack/extend: NOT_FOUND.
// The state machine words these as FAILED_PRECONDITION messages; the
// classification is by those words (apply_lease.cc), pinned by tests.
absl::Status FromReceiptCheck(const absl::Status& status, ReceiptOp op);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_PARTITION_ENTRY_STATUS_H_
