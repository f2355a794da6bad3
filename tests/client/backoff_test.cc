#include "client/cpp/src/backoff.h"

#include "gtest/gtest.h"

namespace sluice::client::internal {
namespace {

TEST(BackoffTest, GrowsWithEqualJitterUpToTheCap) {
  RetryOptions options;
  options.initial_backoff = absl::Milliseconds(100);
  options.max_backoff = absl::Milliseconds(1000);
  options.multiplier = 2;
  Backoff backoff(options, 1);
  const absl::Duration bounds[] = {
      absl::Milliseconds(100),  absl::Milliseconds(200),
      absl::Milliseconds(400),  absl::Milliseconds(800),
      absl::Milliseconds(1000), absl::Milliseconds(1000)};
  for (absl::Duration bound : bounds) {
    const absl::Duration wait = backoff.Next();
    EXPECT_GE(wait, bound / 2);
    EXPECT_LE(wait, bound);
  }
  EXPECT_EQ(backoff.attempts(), 6);
  backoff.Reset();
  EXPECT_LE(backoff.Next(), absl::Milliseconds(100));
}

TEST(BackoffTest, JitterDiffersBetweenSeedsAndRepeatsForOne) {
  RetryOptions options;
  Backoff a(options, 1), b(options, 2), a_again(options, 1);
  const absl::Duration first = a.Next();
  EXPECT_NE(first, b.Next());
  EXPECT_EQ(first, a_again.Next());
}

TEST(BackoffTest, ServerRetryAfterIsALowerBound) {
  RetryOptions options;
  Backoff backoff(options, 3);
  EXPECT_EQ(backoff.Next(absl::Seconds(3)), absl::Seconds(3));
  EXPECT_LT(backoff.Next(absl::Milliseconds(1)), absl::Seconds(1));
}

TEST(BackoffTest, HugeAttemptCountsStayAtTheCap) {
  RetryOptions options;
  options.max_backoff = absl::Seconds(2);
  Backoff backoff(options, 4);
  absl::Duration wait;
  for (int i = 0; i < 200; ++i) wait = backoff.Next();
  EXPECT_GE(wait, absl::Seconds(1));
  EXPECT_LE(wait, absl::Seconds(2));
}

}  // namespace
}  // namespace sluice::client::internal
