#include "broker/auth/access_policy.h"

#include <utility>

#include "base/sha256.h"

namespace sluice::auth {
namespace {

constexpr std::pair<Permission, absl::string_view> kNames[] = {
    {Permission::kSend, "send"},     {Permission::kReceive, "receive"},
    {Permission::kDelete, "delete"}, {Permission::kManage, "manage"},
    {Permission::kAdmin, "admin"},
};

}  // namespace

absl::string_view PermissionName(Permission p) {
  for (const auto& [permission, name] : kNames) {
    if (permission == p) return name;
  }
  return "?";
}

std::optional<Permission> PermissionFromName(absl::string_view name) {
  for (const auto& [permission, n] : kNames) {
    if (n == name) return permission;
  }
  return std::nullopt;
}

bool MatchesPattern(absl::string_view pattern, absl::string_view name) {
  // Greedy with backtracking to the last '*': linear in practice, and at
  // worst |pattern| * |name|, never exponential.
  size_t p = 0, n = 0;
  size_t star = absl::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::optional<std::string> AccessPolicy::PrincipalForToken(
    absl::string_view token) const {
  if (token.empty()) return std::nullopt;
  auto it = principal_by_hash_.find(
      Sha256::HexHash(std::string_view(token.data(), token.size())));
  if (it == principal_by_hash_.end()) return std::nullopt;
  return it->second;
}

PermissionSet AccessPolicy::PermissionsOn(absl::string_view principal,
                                          absl::string_view queue) const {
  PermissionSet held = 0;
  for (const Grant& g : grants_) {
    if ((g.principal == "*" || g.principal == principal) &&
        MatchesPattern(g.queue_pattern, queue)) {
      held |= g.permissions;
    }
  }
  if (held & Bit(Permission::kAdmin)) held = kAllPermissions;
  return held;
}

bool AccessPolicy::Allows(absl::string_view principal, Permission permission,
                          absl::string_view queue) const {
  return (PermissionsOn(principal, queue) & Bit(permission)) != 0;
}

bool AccessPolicy::AllowsAny(absl::string_view principal,
                             absl::string_view queue) const {
  return PermissionsOn(principal, queue) != 0;
}

bool AccessPolicy::IsClusterAdmin(absl::string_view principal) const {
  for (const Grant& g : grants_) {
    if ((g.principal == "*" || g.principal == principal) &&
        g.queue_pattern == "*" && (g.permissions & Bit(Permission::kAdmin))) {
      return true;
    }
  }
  return false;
}

}  // namespace sluice::auth
