// Errors keep the server's details (reason, field, retry-after, leader) and
// say which failures are worth retrying.
#include "sluice/client/errors.h"

#include "client/cpp/src/rpc_status.h"
#include "gtest/gtest.h"

namespace sluice::client {
namespace {

TEST(ErrorsTest, EntryStatusKeepsTheServersDetails) {
  v1::EntryStatus entry;
  entry.set_code(static_cast<int>(absl::StatusCode::kResourceExhausted));
  entry.set_reason(v1::ERROR_REASON_BACKLOG_LIMIT_EXCEEDED);
  entry.set_message("queue full");
  entry.mutable_retry_after()->set_seconds(2);
  entry.mutable_retry_after()->set_nanos(500000000);
  entry.set_leader_address("10.0.0.2:7100");
  const absl::Status s = internal::FromEntryStatus(entry);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "queue full");
  EXPECT_EQ(ErrorReason(s), "BACKLOG_LIMIT_EXCEEDED");
  EXPECT_EQ(RetryAfter(s), absl::Milliseconds(2500));
  EXPECT_EQ(internal::LeaderHint(s), "10.0.0.2:7100");
  EXPECT_TRUE(FromServer(s));
  EXPECT_TRUE(IsRetryable(s));
}

TEST(ErrorsTest, OkEntryIsOk) {
  EXPECT_TRUE(internal::FromEntryStatus(v1::EntryStatus()).ok());
}

TEST(ErrorsTest, InvalidArgumentNamesItsField) {
  v1::EntryStatus entry;
  entry.set_code(static_cast<int>(absl::StatusCode::kInvalidArgument));
  entry.set_field("body");
  const absl::Status s = internal::FromEntryStatus(entry);
  EXPECT_EQ(ErrorField(s), "body");
  EXPECT_EQ(RetryAfter(s), std::nullopt);
  EXPECT_FALSE(IsRetryable(s));
}

TEST(ErrorsTest, OnlyUnknownOutcomesAndThrottlingAreRetryable) {
  EXPECT_TRUE(IsRetryable(absl::UnavailableError("")));
  EXPECT_TRUE(IsRetryable(absl::DeadlineExceededError("")));
  EXPECT_TRUE(IsRetryable(absl::ResourceExhaustedError("")));
  EXPECT_TRUE(IsRetryable(absl::AbortedError("")));
  EXPECT_FALSE(IsRetryable(absl::NotFoundError("")));
  EXPECT_FALSE(IsRetryable(absl::FailedPreconditionError("")));
  EXPECT_FALSE(IsRetryable(absl::InvalidArgumentError("")));
  EXPECT_FALSE(IsRetryable(absl::PermissionDeniedError("")));
}

TEST(ErrorsTest, ALocalErrorIsNotFromTheServer) {
  EXPECT_FALSE(FromServer(absl::InvalidArgumentError("group_id: required")));
  const grpc::Status refused(grpc::StatusCode::UNAVAILABLE, "connect failed");
  EXPECT_FALSE(FromServer(internal::FromGrpc(refused, nullptr)));
  const grpc::Status invalid(grpc::StatusCode::INVALID_ARGUMENT, "bad");
  EXPECT_TRUE(FromServer(internal::FromGrpc(invalid, nullptr)));
}

}  // namespace
}  // namespace sluice::client
