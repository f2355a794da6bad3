#include "broker/partition/entry_status.h"

#include <optional>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "broker/queue/types.h"

namespace sluice::broker {
namespace {

constexpr char kReasonPrefix[] = "ERROR_REASON_";

std::string PayloadString(const absl::Status& status, const char* url) {
  auto value = status.GetPayload(url);
  return value.has_value() ? std::string(*value) : std::string();
}

}  // namespace

absl::Status WithReason(absl::Status status, v1::ErrorReason reason,
                        std::string_view field) {
  if (status.ok()) return status;
  if (reason != v1::ERROR_REASON_UNSPECIFIED) {
    std::string name = v1::ErrorReason_Name(reason);
    status.SetPayload(kErrorReasonPayload,
                      absl::Cord(absl::StripPrefix(name, kReasonPrefix)));
  }
  if (!field.empty()) {
    status.SetPayload(kErrorFieldPayload, absl::Cord(AbslView(field)));
  }
  return status;
}

v1::ErrorReason ReasonOf(const absl::Status& status) {
  const std::string name = PayloadString(status, kErrorReasonPayload);
  v1::ErrorReason reason = v1::ERROR_REASON_UNSPECIFIED;
  if (name.empty() ||
      !v1::ErrorReason_Parse(absl::StrCat(kReasonPrefix, name), &reason)) {
    return v1::ERROR_REASON_UNSPECIFIED;
  }
  return reason;
}

std::string FieldOf(const absl::Status& status) {
  return PayloadString(status, kErrorFieldPayload);
}

absl::Status InvalidField(std::string_view field, std::string_view what,
                          v1::ErrorReason reason) {
  return WithReason(absl::InvalidArgumentError(
                        absl::StrCat(AbslView(field), ": ", AbslView(what))),
                    reason, field);
}

v1::EntryStatus ToEntryStatus(const absl::Status& status) {
  v1::EntryStatus out;
  out.set_code(static_cast<int32_t>(status.code()));
  if (status.ok()) return out;
  out.set_reason(ReasonOf(status));
  out.set_message(std::string(status.message()));
  std::string field = FieldOf(status);
  if (absl::StartsWith(field, "entries[")) {
    const size_t dot = field.find("].");
    field = dot == std::string::npos ? "" : field.substr(dot + 2);
  }
  out.set_field(field);
  return out;
}

absl::Status FromReceiptCheck(const absl::Status& status, ReceiptOp op) {
  if (status.code() != absl::StatusCode::kFailedPrecondition) return status;
  const std::string_view m(status.message().data(), status.message().size());
  if (absl::StrContains(AbslView(m), "stale")) {
    return WithReason(status, v1::ERROR_REASON_RECEIPT_HANDLE_STALE,
                      "receipt_handle");
  }
  if (absl::StrContains(AbslView(m), "not in flight")) {
    return WithReason(status, v1::ERROR_REASON_MESSAGE_NOT_IN_FLIGHT,
                      "receipt_handle");
  }
  if (absl::StrContains(AbslView(m), "no longer exists") ||
      absl::StrContains(AbslView(m), "moved to another queue")) {
    if (op == ReceiptOp::kDelete) return absl::OkStatus();
    return absl::NotFoundError(status.message());
  }
  return status;
}

}  // namespace sluice::broker
