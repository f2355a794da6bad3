// Who is calling, and may they: the gRPC side of broker/auth. A caller is
// known by a bearer token ("authorization: Bearer <token>" metadata) or,
// without one, by the common name of its verified client certificate; the
// cluster's nodes (certificates "sluice-node-<id>") may do anything.
//
// Every Queues and Cluster RPC asks here first, before it looks anything
// up, so that a caller without rights cannot even learn whether a queue
// exists. With no policy (no --auth-config) every call is allowed.
#ifndef SLUICE_BROKER_SERVER_AUTHENTICATOR_H_
#define SLUICE_BROKER_SERVER_AUTHENTICATOR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/auth/access_policy.h"
#include "grpcpp/grpcpp.h"

namespace sluice::broker {

class Authenticator {
 public:
  // nullptr: authentication and authorization are off.
  explicit Authenticator(
      std::shared_ptr<const auth::AccessPolicy> policy = nullptr)
      : policy_(std::move(policy)) {}

  bool enabled() const { return policy_ != nullptr; }

  // The caller's principal, or UNAUTHENTICATED saying what was missing or
  // wrong (never echoing a token). "" when authentication is off.
  absl::StatusOr<std::string> Authenticate(
      const grpc::ServerContextBase& context) const;

  // OK when the caller holds `permission` on `queue`; UNAUTHENTICATED or
  // PERMISSION_DENIED otherwise.
  absl::Status Check(const grpc::ServerContextBase& context,
                     auth::Permission permission,
                     absl::string_view queue) const;
  // The same for a principal already authenticated (streams check each
  // item against the principal of their first message).
  absl::Status CheckPrincipal(absl::string_view principal,
                              auth::Permission permission,
                              absl::string_view queue) const;
  // OK when the caller holds any permission on `queue` (may see it).
  absl::Status CheckAny(const grpc::ServerContextBase& context,
                        absl::string_view queue) const;
  // OK when the caller is admin on every queue (the Cluster service).
  absl::Status CheckClusterAdmin(const grpc::ServerContextBase& context) const;

  // Whether an authenticated `principal` may see `queue` (ListQueues and
  // ListRedriveTasks filter with it). True when authentication is off.
  bool MaySee(absl::string_view principal, absl::string_view queue) const;
  bool MayManage(absl::string_view principal, absl::string_view queue) const;

 private:
  bool IsNode(absl::string_view principal) const;

  std::shared_ptr<const auth::AccessPolicy> policy_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_AUTHENTICATOR_H_
