#include "broker/auth/auth_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Message(const absl::StatusOr<AccessPolicy>& p) {
  return std::string(p.status().message());
}

TEST(AuthConfig, ParsesTokensGrantsAndComments) {
  const std::string text = absl::StrCat(
      "# who\n"
      "token billing ",
      Sha256::HexHash("secret-1"),
      "   # the API\n"
      "\n"
      "token billing ",
      absl::AsciiStrToUpper(Sha256::HexHash("secret-2")),
      "\n"
      "\tgrant billing send,receive orders-*\n"
      "grant * receive public\r\n"
      "grant ops admin *\n");
  absl::StatusOr<AccessPolicy> policy = ParseAuthConfig(text);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->token_count(), 2u);
  ASSERT_EQ(policy->grants().size(), 3u);
  EXPECT_EQ(policy->PrincipalForToken("secret-1"), "billing");
  // Upper-case hex is the same digest.
  EXPECT_EQ(policy->PrincipalForToken("secret-2"), "billing");
  EXPECT_TRUE(policy->Allows("billing", Permission::kReceive, "orders-1"));
  EXPECT_FALSE(policy->Allows("billing", Permission::kDelete, "orders-1"));
  EXPECT_TRUE(policy->Allows("anyone", Permission::kReceive, "public"));
  EXPECT_TRUE(policy->IsClusterAdmin("ops"));
}

TEST(AuthConfig, EmptyFileAllowsNothing) {
  absl::StatusOr<AccessPolicy> policy = ParseAuthConfig("# nothing yet\n");
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->AllowsAny("ops", "q"));
}

struct BadLine {
  std::string text;
  std::string error;
};

class AuthConfigErrors : public ::testing::TestWithParam<BadLine> {};

TEST_P(AuthConfigErrors, NameTheLineAndTheProblem) {
  absl::StatusOr<AccessPolicy> policy =
      ParseAuthConfig("# line one\n" + GetParam().text + "\n");
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(policy), HasSubstr("auth config line 2: "));
  EXPECT_THAT(Message(policy), HasSubstr(GetParam().error));
}

const std::string kHash = Sha256::HexHash("x");

INSTANTIATE_TEST_SUITE_P(
    Lines, AuthConfigErrors,
    ::testing::Values(
        BadLine{"allow ops admin *", "unknown statement 'allow'"},
        BadLine{"token ops", "want: token PRINCIPAL SHA256-HEX"},
        BadLine{"token ops abc", "64 hex digits"},
        BadLine{"token ops " + kHash.substr(0, 63) + "g", "64 hex digits"},
        BadLine{"token * " + kHash, "not a plain name"},
        BadLine{"token sluice-node-1 " + kHash,
                "belong to the cluster's nodes"},
        BadLine{"grant ops admin", "want: grant PRINCIPAL"},
        BadLine{"grant ops write *", "unknown permission 'write'"},
        BadLine{"grant ops send,,receive *", "unknown permission ''"},
        BadLine{"grant o*s send *", "not a plain name"},
        BadLine{"grant sluice-node-2 admin *", "belong to the cluster's nodes"},
        BadLine{"grant ops send " + std::string(300, 'q'),
                "is not a plain name or pattern"}));

TEST(AuthConfig, TheSameTokenTwiceIsRefusedWithoutShowingIt) {
  const std::string text = absl::StrCat("token a ", kHash, "\ntoken b ",
                                        absl::AsciiStrToUpper(kHash), "\n");
  absl::StatusOr<AccessPolicy> policy = ParseAuthConfig(text);
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(Message(policy), HasSubstr("line 2"));
  EXPECT_THAT(Message(policy), HasSubstr("already given to 'a'"));
  EXPECT_THAT(Message(policy), Not(HasSubstr(kHash.substr(0, 16))));
}

}  // namespace
}  // namespace sluice::auth
