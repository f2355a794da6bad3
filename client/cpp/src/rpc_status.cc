#include "client/cpp/src/rpc_status.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "sluice/client/errors.h"

namespace sluice::client::internal {
namespace {

std::string Trailer(const grpc::ClientContext& context, absl::string_view key) {
  for (const auto& [k, v] : context.GetServerTrailingMetadata()) {
    if (absl::string_view(k.data(), k.size()) == key) {
      return std::string(v.data(), v.size());
    }
  }
  return "";
}

void Attach(absl::Status& status, const char* key, const std::string& value) {
  if (!value.empty()) status.SetPayload(key, absl::Cord(value));
}

// "ERROR_REASON_NO_LEADER" -> "NO_LEADER".
std::string ReasonName(v1::ErrorReason reason) {
  if (reason == v1::ERROR_REASON_UNSPECIFIED) return "";
  std::string name = v1::ErrorReason_Name(reason);
  constexpr absl::string_view kPrefix = "ERROR_REASON_";
  if (absl::string_view(name).substr(0, kPrefix.size()) == kPrefix) {
    name = name.substr(kPrefix.size());
  }
  return name;
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& grpc_status,
                      const grpc::ClientContext* context) {
  if (grpc_status.ok()) return absl::OkStatus();
  absl::Status status(static_cast<absl::StatusCode>(grpc_status.error_code()),
                      grpc_status.error_message());
  // Connection failures and timeouts are raised by gRPC's client; a node's
  // own errors carry a reason.
  const bool transport =
      grpc_status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      grpc_status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
      grpc_status.error_code() == grpc::StatusCode::CANCELLED;
  if (!transport || (context != nullptr &&
                     !Trailer(*context, "sluice-error-reason").empty())) {
    Attach(status, kFromServerPayload, "1");
  }
  if (context != nullptr) {
    Attach(status, kReasonPayload, Trailer(*context, "sluice-error-reason"));
    Attach(status, kFieldPayload, Trailer(*context, "sluice-error-field"));
    Attach(status, kRetryAfterPayload,
           Trailer(*context, "sluice-retry-after-ms"));
    Attach(status, kLeaderPayload, Trailer(*context, "sluice-leader"));
  }
  return status;
}

absl::Status FromEntryStatus(const v1::EntryStatus& entry) {
  if (entry.code() == 0) return absl::OkStatus();
  absl::Status status(static_cast<absl::StatusCode>(entry.code()),
                      entry.message());
  Attach(status, kFromServerPayload, "1");
  Attach(status, kReasonPayload, ReasonName(entry.reason()));
  Attach(status, kFieldPayload, entry.field());
  if (entry.has_retry_after()) {
    const int64_t ms = entry.retry_after().seconds() * 1000 +
                       entry.retry_after().nanos() / 1000000;
    Attach(status, kRetryAfterPayload, absl::StrCat(ms));
  }
  Attach(status, kLeaderPayload, entry.leader_address());
  return status;
}

std::string LeaderHint(const grpc::ClientContext& context) {
  return Trailer(context, "sluice-leader");
}

std::string LeaderHint(const absl::Status& status) {
  auto value = status.GetPayload(kLeaderPayload);
  return value.has_value() ? std::string(*value) : std::string();
}

}  // namespace sluice::client::internal
