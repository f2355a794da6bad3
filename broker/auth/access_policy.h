// Who may do what to which queue: the policy an auth config file describes
// (auth_config.h), free of gRPC so that it is tested and fuzzed alone.
//
// A principal is a name: the subject common name of a client certificate,
// or the name a bearer token belongs to. Grants give permissions on queues
// whose names match a pattern, to one principal or to every authenticated
// one ("*"). Nothing is allowed that no grant allows.
#ifndef SLUICE_BROKER_AUTH_ACCESS_POLICY_H_
#define SLUICE_BROKER_AUTH_ACCESS_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace sluice::auth {

// One bit each. `admin` implies every other permission on every queue it
// is granted for, and is what the Cluster service requires.
enum class Permission : uint8_t {
  kSend = 1 << 0,     // Send
  kReceive = 1 << 1,  // Receive, StreamReceive, Peek
  kDelete = 1 << 2,   // Delete, ChangeVisibility, stream acks/nacks/extends
  kManage = 1 << 3,   // Create/Update/Delete/PurgeQueue, redrive
  kAdmin = 1 << 4,    // all of the above, and the Cluster service
};
using PermissionSet = uint8_t;
inline constexpr PermissionSet kAllPermissions = 0x1F;

inline constexpr PermissionSet Bit(Permission p) {
  return static_cast<PermissionSet>(p);
}
// "send", "receive", "delete", "manage", "admin".
absl::string_view PermissionName(Permission p);
std::optional<Permission> PermissionFromName(absl::string_view name);

// Glob match where '*' stands for any run of characters (also none) and
// every other character for itself.
bool MatchesPattern(absl::string_view pattern, absl::string_view name);

struct Grant {
  std::string principal;      // a name, or "*" for anyone authenticated
  PermissionSet permissions;  // non-empty
  std::string queue_pattern;  // e.g. "orders-*", "*"
};

class AccessPolicy {
 public:
  AccessPolicy() = default;
  // `principal_by_hash`: lower-case hex SHA-256 of a token -> its principal.
  AccessPolicy(std::map<std::string, std::string> principal_by_hash,
               std::vector<Grant> grants)
      : principal_by_hash_(std::move(principal_by_hash)),
        grants_(std::move(grants)) {}

  // The principal a bearer token belongs to, if any. Compares SHA-256
  // digests, so the file never holds a token.
  std::optional<std::string> PrincipalForToken(absl::string_view token) const;

  // Whether `principal` holds `permission` (or admin) on `queue`.
  bool Allows(absl::string_view principal, Permission permission,
              absl::string_view queue) const;
  // Whether `principal` holds any permission on `queue` (enough to see it).
  bool AllowsAny(absl::string_view principal, absl::string_view queue) const;
  // Whether `principal` is admin on every queue ("*"): the Cluster service.
  bool IsClusterAdmin(absl::string_view principal) const;

  size_t token_count() const { return principal_by_hash_.size(); }
  const std::vector<Grant>& grants() const { return grants_; }

 private:
  PermissionSet PermissionsOn(absl::string_view principal,
                              absl::string_view queue) const;

  std::map<std::string, std::string> principal_by_hash_;  // hex sha256 -> name
  std::vector<Grant> grants_;
};

}  // namespace sluice::auth

#endif  // SLUICE_BROKER_AUTH_ACCESS_POLICY_H_
