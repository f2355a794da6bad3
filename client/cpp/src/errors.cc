#include "sluice/client/errors.h"

#include <cstdint>

#include "absl/strings/numbers.h"

namespace sluice::client {
namespace {

std::string Payload(const absl::Status& status, const char* key) {
  auto value = status.GetPayload(key);
  return value.has_value() ? std::string(*value) : std::string();
}

}  // namespace

std::string ErrorReason(const absl::Status& status) {
  return Payload(status, kReasonPayload);
}

std::string ErrorField(const absl::Status& status) {
  return Payload(status, kFieldPayload);
}

std::optional<absl::Duration> RetryAfter(const absl::Status& status) {
  int64_t ms = 0;
  if (!absl::SimpleAtoi(Payload(status, kRetryAfterPayload), &ms) || ms < 0) {
    return std::nullopt;
  }
  return absl::Milliseconds(ms);
}

bool FromServer(const absl::Status& status) {
  return status.GetPayload(kFromServerPayload).has_value();
}

bool IsRetryable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

}  // namespace sluice::client
