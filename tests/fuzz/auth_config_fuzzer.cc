// Fuzzes the auth config file's parser (broker/auth/auth_config.h) and the
// queue patterns of its grants (broker/auth/access_policy.h).
//
// Input: [mode:1] then, mode even, the file's text; mode odd, a pattern and
// a queue name [frame][frame].
// Properties: no crash; errors are INVALID_ARGUMENT; an accepted file has
// only grants with permissions and no node principal; its grants written
// back out parse to the same grants; MatchesPattern agrees with a plain
// dynamic-programming glob matcher.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/auth/access_policy.h"
#include "broker/auth/auth_config.h"
#include "tests/fuzz/fuzz_util.h"

namespace sluice::fuzz {
namespace {

using sluice::auth::Permission;

bool ReferenceMatch(std::string_view pattern, std::string_view name) {
  // match[j]: pattern[0, i) matches name[0, j).
  std::vector<bool> match(name.size() + 1, false);
  match[0] = true;
  for (char p : pattern) {
    std::vector<bool> next(name.size() + 1, false);
    for (size_t j = 0; j <= name.size(); ++j) {
      if (p == '*') {
        next[j] = match[j] || (j > 0 && next[j - 1]);
      } else {
        next[j] = j > 0 && match[j - 1] && name[j - 1] == p;
      }
    }
    match.swap(next);
  }
  return match[name.size()];
}

std::string RenderGrants(const sluice::auth::AccessPolicy& policy) {
  std::string text;
  for (const sluice::auth::Grant& g : policy.grants()) {
    std::vector<std::string> names;
    for (Permission p :
         {Permission::kSend, Permission::kReceive, Permission::kDelete,
          Permission::kManage, Permission::kAdmin}) {
      if (g.permissions & sluice::auth::Bit(p)) {
        const auto name = sluice::auth::PermissionName(p);
        names.emplace_back(name.data(), name.size());
      }
    }
    absl::StrAppend(&text, "grant ", g.principal, " ",
                    absl::StrJoin(names, ","), " ", g.queue_pattern, "\n");
  }
  return text;
}

}  // namespace

std::vector<Seed> Seeds() {
  const std::string file =
      "# tokens by SHA-256\n"
      "token billing-api "
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
      "grant billing-api send orders-*\n"
      "grant worker receive,delete orders-*   # workers\n"
      "grant ops admin *\n";
  std::string pattern(1, 1);
  Frame(&pattern, "orders-*-eu*");
  Frame(&pattern, "orders-7-eu-west");
  return {{"seed-file", std::string(1, 0) + file},
          {"seed-pattern", pattern},
          {"seed-node-principal",
           std::string(1, 0) + "grant sluice-node-1 admin *\n"}};
}

}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::fuzz;  // NOLINT(google-build-using-namespace)
  ByteReader in(data, size);
  if (in.U8() % 2 == 1) {
    const std::string_view pattern = in.Bytes();
    const std::string_view name = in.Bytes();
    if (pattern.size() > 256 || name.size() > 256) return 0;
    FUZZ_CHECK(sluice::auth::MatchesPattern(Absl(pattern), Absl(name)) ==
               ReferenceMatch(pattern, name))
        << "pattern '" << pattern << "' name '" << name << "'";
    return 0;
  }
  const std::string_view text = in.Rest();
  absl::StatusOr<sluice::auth::AccessPolicy> policy =
      sluice::auth::ParseAuthConfig(Absl(text));
  if (!policy.ok()) {
    FUZZ_CHECK(policy.status().code() == absl::StatusCode::kInvalidArgument)
        << policy.status();
    return 0;
  }
  for (const sluice::auth::Grant& g : policy->grants()) {
    FUZZ_CHECK(g.permissions != 0) << "grant without permissions";
    FUZZ_CHECK(
        !absl::StartsWith(g.principal, sluice::auth::kNodePrincipalPrefix))
        << "grant to a node principal: " << g.principal;
    policy->Allows(g.principal, Permission::kSend, g.queue_pattern);
  }
  const std::string rendered = RenderGrants(*policy);
  absl::StatusOr<sluice::auth::AccessPolicy> again =
      sluice::auth::ParseAuthConfig(rendered);
  FUZZ_CHECK(again.ok()) << again.status() << "\n" << rendered;
  FUZZ_CHECK(again->grants().size() == policy->grants().size());
  for (size_t i = 0; i < policy->grants().size(); ++i) {
    const auto& a = policy->grants()[i];
    const auto& b = again->grants()[i];
    FUZZ_CHECK(a.principal == b.principal && a.permissions == b.permissions &&
               a.queue_pattern == b.queue_pattern)
        << "grant " << i << " written back differently:\n"
        << rendered;
  }
  return 0;
}
