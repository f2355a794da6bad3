// LeaseKeeper: when leases are extended, re-asked, and given up; and the
// consumer's nack backoff.
#include "client/cpp/src/lease_keeper.h"

#include "client/cpp/src/consumer_impl.h"
#include "gtest/gtest.h"

namespace sluice::client::internal {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(5000);
using Handles = std::vector<std::string>;

TEST(LeaseKeeperTest, ExtendsWhenAThirdOfTheLeaseIsLeft) {
  LeaseKeeper keeper(absl::Seconds(30), absl::Hours(1));
  keeper.Track("h1", kT0);
  EXPECT_EQ(keeper.NextDue(), kT0 + absl::Seconds(20));
  EXPECT_TRUE(keeper.Due(kT0 + absl::Seconds(19)).empty());
  EXPECT_EQ(keeper.Due(kT0 + absl::Seconds(20)), Handles{"h1"});
  EXPECT_TRUE(keeper.Due(kT0 + absl::Seconds(21)).empty())
      << "an extension is in flight";
  keeper.Extended("h1", kT0 + absl::Seconds(20));
  EXPECT_EQ(keeper.Deadline("h1"), kT0 + absl::Seconds(50));
  EXPECT_EQ(keeper.NextDue(), kT0 + absl::Seconds(40));
}

TEST(LeaseKeeperTest, AsksAgainWhenAnExtensionIsNotAnswered) {
  LeaseKeeper keeper(absl::Seconds(6), absl::Hours(1));
  keeper.Track("h1", kT0);
  ASSERT_EQ(keeper.Due(kT0 + absl::Seconds(4)), Handles{"h1"});
  EXPECT_TRUE(keeper.Due(kT0 + absl::Milliseconds(4999)).empty());
  EXPECT_EQ(keeper.Due(kT0 + absl::Seconds(5)), Handles{"h1"})
      << "a sixth of the lease later, before it runs out";
}

TEST(LeaseKeeperTest, StopsExtendingAfterMaxExtension) {
  LeaseKeeper keeper(absl::Seconds(30), absl::Seconds(60));
  keeper.Track("h1", kT0);
  ASSERT_EQ(keeper.Due(kT0 + absl::Seconds(20)).size(), 1u);
  keeper.Extended("h1", kT0 + absl::Seconds(20));  // to 50 s
  ASSERT_EQ(keeper.Due(kT0 + absl::Seconds(40)).size(), 1u);
  keeper.Extended("h1", kT0 + absl::Seconds(40));  // to 70 s > 60 s
  EXPECT_TRUE(keeper.Due(kT0 + absl::Seconds(69)).empty());
  EXPECT_EQ(keeper.NextDue(), std::nullopt);
}

TEST(LeaseKeeperTest, ForgottenAndLostLeasesAreNotExtended) {
  LeaseKeeper keeper(absl::Seconds(3), absl::Hours(1));
  keeper.Track("a", kT0);
  keeper.Track("b", kT0);
  keeper.Track("c", kT0 + absl::Seconds(1));
  keeper.Forget("a");
  keeper.Lost("b");
  EXPECT_FALSE(keeper.Tracked("b"));
  EXPECT_EQ(keeper.Due(kT0 + absl::Seconds(10)), Handles{"c"});
  keeper.Extended("b", kT0);  // a late answer for a forgotten lease
  EXPECT_FALSE(keeper.Tracked("b"));
  EXPECT_EQ(keeper.size(), 1u);
}

TEST(LeaseKeeperTest, ALateAnswerNeverShortensTheLease) {
  LeaseKeeper keeper(absl::Seconds(30), absl::Hours(1));
  keeper.Track("h", kT0 + absl::Seconds(10));
  keeper.Extended("h", kT0);  // asked before the latest delivery
  EXPECT_EQ(keeper.Deadline("h"), kT0 + absl::Seconds(40));
}

}  // namespace
}  // namespace sluice::client::internal

namespace sluice::client::internal {
namespace {

TEST(NackDelayTest, DoublesWithTheReceiveCountUpToTheMax) {
  ConsumerOptions options;
  options.nack_initial_backoff = absl::Seconds(1);
  options.nack_max_backoff = absl::Seconds(10);
  EXPECT_EQ(NackDelay(options, 0), absl::Seconds(1));
  EXPECT_EQ(NackDelay(options, 1), absl::Seconds(1));
  EXPECT_EQ(NackDelay(options, 2), absl::Seconds(2));
  EXPECT_EQ(NackDelay(options, 4), absl::Seconds(8));
  EXPECT_EQ(NackDelay(options, 5), absl::Seconds(10));
  EXPECT_EQ(NackDelay(options, 4000000000u), absl::Seconds(10));
}

}  // namespace
}  // namespace sluice::client::internal
