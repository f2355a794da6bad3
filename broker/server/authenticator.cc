#include "broker/server/authenticator.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "broker/transport/tls_credentials.h"

namespace sluice::broker {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

}  // namespace

bool Authenticator::IsNode(absl::string_view principal) const {
  return NodeOfPrincipal(principal).has_value();
}

absl::StatusOr<std::string> Authenticator::Authenticate(
    const grpc::ServerContextBase& context) const {
  if (policy_ == nullptr) return std::string();
  const auto& metadata = context.client_metadata();
  auto header = metadata.find("authorization");
  if (header != metadata.end()) {
    absl::string_view value(header->second.data(), header->second.size());
    if (!absl::ConsumePrefix(&value, kBearer) || value.empty()) {
      return absl::UnauthenticatedError(
          "authorization metadata: want 'Bearer <token>'");
    }
    std::optional<std::string> principal = policy_->PrincipalForToken(value);
    if (!principal.has_value()) {
      return absl::UnauthenticatedError(
          "the bearer token is not valid here (unknown, or revoked)");
    }
    return *principal;
  }
  std::string name = VerifiedPeerName(context);
  if (!name.empty()) return name;
  return absl::UnauthenticatedError(
      "no credentials: send a bearer token (metadata 'authorization: Bearer "
      "<token>') or present a client certificate");
}

absl::Status Authenticator::CheckPrincipal(absl::string_view principal,
                                           auth::Permission permission,
                                           absl::string_view queue) const {
  if (policy_ == nullptr || IsNode(principal) ||
      policy_->Allows(principal, permission, queue)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "'", principal, "' may not do this on queue '", queue, "' (needs the ",
      auth::PermissionName(permission), " permission)"));
}

absl::Status Authenticator::Check(const grpc::ServerContextBase& context,
                                  auth::Permission permission,
                                  absl::string_view queue) const {
  if (policy_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::string> principal = Authenticate(context);
  if (!principal.ok()) return principal.status();
  return CheckPrincipal(*principal, permission, queue);
}

absl::Status Authenticator::CheckAny(const grpc::ServerContextBase& context,
                                     absl::string_view queue) const {
  if (policy_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::string> principal = Authenticate(context);
  if (!principal.ok()) return principal.status();
  if (MaySee(*principal, queue)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "'", *principal, "' holds no permission on queue '", queue, "'"));
}

absl::Status Authenticator::CheckClusterAdmin(
    const grpc::ServerContextBase& context) const {
  if (policy_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::string> principal = Authenticate(context);
  if (!principal.ok()) return principal.status();
  if (IsNode(*principal) || policy_->IsClusterAdmin(*principal)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "'", *principal, "' may not use the Cluster service (needs admin on *)"));
}

bool Authenticator::MaySee(absl::string_view principal,
                           absl::string_view queue) const {
  return policy_ == nullptr || IsNode(principal) ||
         policy_->AllowsAny(principal, queue);
}

bool Authenticator::MayManage(absl::string_view principal,
                              absl::string_view queue) const {
  return CheckPrincipal(principal, auth::Permission::kManage, queue).ok();
}

}  // namespace sluice::broker
