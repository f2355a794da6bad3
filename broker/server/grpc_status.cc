#include "broker/server/grpc_status.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/host/host_errors.h"
#include "broker/partition/entry_status.h"

namespace sluice::broker {
namespace {

constexpr char kReasonPrefix[] = "ERROR_REASON_";

std::string Metadata(const grpc::ClientContext& context, const char* key) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(key);
  if (it == trailers.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

void AddLeaderHint(grpc::ServerContextBase& context, const ClusterView& view,
                   raft::NodeId leader) {
  if (leader == raft::kNoNode) return;
  const std::string address = view.Address(leader);
  if (!address.empty()) context.AddTrailingMetadata(kLeaderKey, address);
  context.AddTrailingMetadata(kLeaderNodeKey, absl::StrCat(leader.value()));
}

grpc::Status ToGrpcStatus(const absl::Status& status,
                          grpc::ServerContextBase& context,
                          const ClusterView& view) {
  if (status.ok()) return grpc::Status::OK;
  const v1::ErrorReason reason = ReasonOf(status);
  if (reason != v1::ERROR_REASON_UNSPECIFIED) {
    std::string name = v1::ErrorReason_Name(reason);
    if (name.rfind(kReasonPrefix, 0) == 0) {
      name = name.substr(sizeof(kReasonPrefix) - 1);
    }
    context.AddTrailingMetadata(kReasonKey, name);
  }
  if (std::string field = FieldOf(status); !field.empty()) {
    context.AddTrailingMetadata(kFieldKey, field);
  }
  if (auto retry = status.GetPayload(kRetryAfterPayload); retry.has_value()) {
    context.AddTrailingMetadata(kRetryAfterKey, std::string(*retry));
  }
  if (std::optional<raft::NodeId> leader = LeaderHint(status)) {
    AddLeaderHint(context, view, *leader);
  }
  if (IsNotProposed(status)) context.AddTrailingMetadata(kNotProposedKey, "1");
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status,
                            const grpc::ClientContext& context) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()),
                   status.error_message());
  v1::ErrorReason reason = v1::ERROR_REASON_UNSPECIFIED;
  if (std::string name = Metadata(context, kReasonKey); !name.empty()) {
    v1::ErrorReason_Parse(absl::StrCat(kReasonPrefix, name), &reason);
  }
  const std::string field = Metadata(context, kFieldKey);
  if (reason != v1::ERROR_REASON_UNSPECIFIED || !field.empty()) {
    out = WithReason(out, reason, field);
  }
  if (std::string retry = Metadata(context, kRetryAfterKey); !retry.empty()) {
    out.SetPayload(kRetryAfterPayload, absl::Cord(retry));
  }
  if (!Metadata(context, kNotProposedKey).empty()) out = NotProposed(out);
  uint64_t leader = 0;
  if (absl::SimpleAtoi(Metadata(context, kLeaderNodeKey), &leader) &&
      leader != 0) {
    out.SetPayload(kLeaderPayload, absl::Cord(absl::StrCat(leader)));
  }
  return out;
}

}  // namespace sluice::broker
