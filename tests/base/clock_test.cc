#include "base/clock.h"

#include "gtest/gtest.h"

namespace sluice {
namespace {

TEST(ManualClockTest, MovesOnlyWhenTold) {
  ManualClock clock(absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  clock.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(clock.Now(), absl::FromUnixMillis(1001500));
  clock.Set(absl::FromUnixSeconds(10));  // a backwards jump is allowed
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(10));
}

TEST(MonotonicClockTest, NeverGoesBackwards) {
  absl::Time previous = MonotonicClock::Get()->Now();
  for (int i = 0; i < 1000; ++i) {
    absl::Time now = MonotonicClock::Get()->Now();
    ASSERT_GE(now, previous);
    previous = now;
  }
}

}  // namespace
}  // namespace sluice
