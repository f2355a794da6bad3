#include "base/status_macros.h"

#include "gtest/gtest.h"

namespace sluice {
namespace {

absl::StatusOr<int> ParsePositive(int v) {
  if (v <= 0) return absl::InvalidArgumentError("not positive");
  return v;
}

absl::StatusOr<int> Double(int v) {
  SLUICE_ASSIGN_OR_RETURN(int parsed, ParsePositive(v));
  return parsed * 2;
}

absl::Status CheckBoth(int a, int b) {
  SLUICE_RETURN_IF_ERROR(ParsePositive(a).status());
  SLUICE_RETURN_IF_ERROR(ParsePositive(b).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnPassesValueAndError) {
  EXPECT_EQ(*Double(21), 42);
  EXPECT_EQ(Double(-1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StatusMacrosTest, ReturnIfErrorStopsAtFirstError) {
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  EXPECT_EQ(CheckBoth(1, 0).message(), "not positive");
}

}  // namespace
}  // namespace sluice
