// Errors of the Sluice client library are absl::Status values with the
// gRPC code, the server's message, and the server's structured details as
// payloads (proto/sluice/v1/README.md, "Errors"). These read them back.
#ifndef SLUICE_CLIENT_ERRORS_H_
#define SLUICE_CLIENT_ERRORS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace sluice::client {

// Payload type URLs under which the details are stored.
inline constexpr char kReasonPayload[] = "sluice-error-reason";
inline constexpr char kFieldPayload[] = "sluice-error-field";
inline constexpr char kRetryAfterPayload[] = "sluice-retry-after-ms";
inline constexpr char kLeaderPayload[] = "sluice-leader";
inline constexpr char kFromServerPayload[] = "sluice-from-server";

// The server's ErrorReason name without its prefix (e.g.
// "RECEIPT_HANDLE_STALE"); empty when it gave none.
std::string ErrorReason(const absl::Status& status);
// The request field an INVALID_ARGUMENT is about (e.g. "entries[3].body").
std::string ErrorField(const absl::Status& status);
// How long the server asked the client to wait before retrying.
std::optional<absl::Duration> RetryAfter(const absl::Status& status);

// True if a node returned this error; false if the library raised it
// (bad argument caught before sending, deadline while waiting, ...).
bool FromServer(const absl::Status& status);

// Whether an operation that failed with `status` may be tried again
// unchanged: UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED (outcome unknown),
// RESOURCE_EXHAUSTED (throttled or full), ABORTED (a leadership transfer
// did not finish). Writes are safe to retry only when they are idempotent,
// which every send of this library is.
bool IsRetryable(const absl::Status& status);

}  // namespace sluice::client

#endif  // SLUICE_CLIENT_ERRORS_H_
