#include "broker/auth/access_policy.h"

#include "base/sha256.h"
#include "gtest/gtest.h"

namespace sluice::auth {
namespace {

TEST(MatchesPattern, StarMatchesAnyRunAndOtherCharactersThemselves) {
  EXPECT_TRUE(MatchesPattern("orders", "orders"));
  EXPECT_FALSE(MatchesPattern("orders", "orders2"));
  EXPECT_FALSE(MatchesPattern("orders", "order"));
  EXPECT_TRUE(MatchesPattern("orders-*", "orders-"));
  EXPECT_TRUE(MatchesPattern("orders-*", "orders-eu.fifo"));
  EXPECT_FALSE(MatchesPattern("orders-*", "orders"));
  EXPECT_FALSE(MatchesPattern("orders-*", "xorders-1"));
  EXPECT_TRUE(MatchesPattern("*", ""));
  EXPECT_TRUE(MatchesPattern("*", "anything"));
  EXPECT_TRUE(MatchesPattern("*.fifo", "jobs.fifo"));
  EXPECT_FALSE(MatchesPattern("*.fifo", "jobs.fif"));
  EXPECT_TRUE(MatchesPattern("a*b*c", "aXXbYYbc"));
  EXPECT_FALSE(MatchesPattern("a*b*c", "aXXbYYbd"));
  EXPECT_TRUE(MatchesPattern("**", "x"));
  EXPECT_FALSE(MatchesPattern("", "x"));
  // Backtracking that a naive recursion would make exponential.
  EXPECT_FALSE(MatchesPattern("*a*a*a*a*a*a*a*a*a*b", std::string(200, 'a')));
}

TEST(PermissionNames, RoundTrip) {
  for (Permission p :
       {Permission::kSend, Permission::kReceive, Permission::kDelete,
        Permission::kManage, Permission::kAdmin}) {
    EXPECT_EQ(PermissionFromName(PermissionName(p)), p);
  }
  EXPECT_FALSE(PermissionFromName("write").has_value());
  EXPECT_FALSE(PermissionFromName("Send").has_value());
}

AccessPolicy Example() {
  return AccessPolicy(
      {{Sha256::HexHash("t-billing"), "billing"},
       {Sha256::HexHash("t-billing-new"), "billing"},
       {Sha256::HexHash("t-ops"), "ops"}},
      {{"billing", Bit(Permission::kSend), "orders-*"},
       {"worker", Bit(Permission::kReceive) | Bit(Permission::kDelete),
        "orders-*"},
       {"ops", Bit(Permission::kAdmin), "*"},
       {"*", Bit(Permission::kReceive), "public"},
       {"team-a", Bit(Permission::kAdmin), "team-a-*"}});
}

TEST(AccessPolicy, TokensMapToTheirPrincipalByDigest) {
  AccessPolicy policy = Example();
  EXPECT_EQ(policy.PrincipalForToken("t-billing"), "billing");
  EXPECT_EQ(policy.PrincipalForToken("t-billing-new"), "billing");
  EXPECT_EQ(policy.PrincipalForToken("t-ops"), "ops");
  EXPECT_FALSE(policy.PrincipalForToken("t-bill").has_value());
  EXPECT_FALSE(policy.PrincipalForToken("").has_value());
  // The digest itself is not a token.
  EXPECT_FALSE(policy.PrincipalForToken(Sha256::HexHash("t-ops")).has_value());
}

TEST(AccessPolicy, GrantsAllowOnlyTheirPermissionsOnMatchingQueues) {
  AccessPolicy policy = Example();
  EXPECT_TRUE(policy.Allows("billing", Permission::kSend, "orders-eu"));
  EXPECT_FALSE(policy.Allows("billing", Permission::kReceive, "orders-eu"));
  EXPECT_FALSE(policy.Allows("billing", Permission::kSend, "payments"));
  EXPECT_TRUE(policy.Allows("worker", Permission::kReceive, "orders-eu"));
  EXPECT_TRUE(policy.Allows("worker", Permission::kDelete, "orders-eu"));
  EXPECT_FALSE(policy.Allows("worker", Permission::kSend, "orders-eu"));
  EXPECT_FALSE(policy.Allows("worker", Permission::kManage, "orders-eu"));
  EXPECT_FALSE(policy.Allows("stranger", Permission::kSend, "orders-eu"));
}

TEST(AccessPolicy, AdminImpliesEverythingButOnlyWhereGranted) {
  AccessPolicy policy = Example();
  for (Permission p :
       {Permission::kSend, Permission::kReceive, Permission::kDelete,
        Permission::kManage, Permission::kAdmin}) {
    EXPECT_TRUE(policy.Allows("ops", p, "anything"));
    EXPECT_TRUE(policy.Allows("team-a", p, "team-a-jobs"));
    EXPECT_FALSE(policy.Allows("team-a", p, "team-b-jobs"));
  }
  EXPECT_TRUE(policy.IsClusterAdmin("ops"));
  // Admin on some queues is not admin of the cluster.
  EXPECT_FALSE(policy.IsClusterAdmin("team-a"));
  EXPECT_FALSE(policy.IsClusterAdmin("billing"));
}

TEST(AccessPolicy, WildcardPrincipalCoversEveryAuthenticatedCaller) {
  AccessPolicy policy = Example();
  EXPECT_TRUE(policy.Allows("stranger", Permission::kReceive, "public"));
  EXPECT_TRUE(policy.Allows("billing", Permission::kReceive, "public"));
  EXPECT_FALSE(policy.Allows("stranger", Permission::kSend, "public"));
  EXPECT_TRUE(policy.AllowsAny("stranger", "public"));
  EXPECT_FALSE(policy.AllowsAny("stranger", "orders-eu"));
  EXPECT_TRUE(policy.AllowsAny("billing", "orders-eu"));
}

TEST(AccessPolicy, EmptyPolicyAllowsNothing) {
  AccessPolicy policy;
  EXPECT_FALSE(policy.Allows("ops", Permission::kReceive, "q"));
  EXPECT_FALSE(policy.AllowsAny("ops", "q"));
  EXPECT_FALSE(policy.IsClusterAdmin("ops"));
}

}  // namespace
}  // namespace sluice::auth
