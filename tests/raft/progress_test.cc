#include "raft/core/progress.h"

#include "gtest/gtest.h"

namespace sluice::raft {
namespace {

TEST(ProgressTest, ProbeSendsOneMessageThenPauses) {
  Progress pr(Index(5), 10, 0);
  EXPECT_EQ(pr.state(), ProgressState::kProbe);
  EXPECT_FALSE(pr.IsPaused());
  pr.SentEntries(2, 20);
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_EQ(pr.next(), Index(5));  // probing does not advance next
}

TEST(ProgressTest, ReplicateAdvancesNextOptimistically) {
  Progress pr(Index(5), 2, 0);
  pr.MaybeUpdate(Index(4));
  pr.BecomeReplicate();
  pr.SentEntries(3, 30);
  EXPECT_EQ(pr.next(), Index(8));
  pr.SentEntries(1, 10);
  EXPECT_TRUE(pr.IsPaused());  // window of 2 messages is full
  EXPECT_TRUE(pr.MaybeUpdate(Index(7)));
  pr.mutable_inflights().FreeLE(Index(7));
  EXPECT_FALSE(pr.IsPaused());
}

TEST(ProgressTest, MaybeDecrToInProbeUsesHint) {
  Progress pr(Index(10), 10, 0);
  pr.SentEntries(1, 1);
  // Rejection of an older probe is stale.
  EXPECT_FALSE(pr.MaybeDecrTo(Index(5), Index(2)));
  EXPECT_TRUE(pr.MaybeDecrTo(Index(9), Index(3)));
  EXPECT_EQ(pr.next(), Index(4));
  EXPECT_FALSE(pr.IsPaused());
}

TEST(ProgressTest, MaybeDecrToInReplicateFallsBackToMatch) {
  Progress pr(Index(1), 10, 0);
  pr.MaybeUpdate(Index(6));
  pr.BecomeReplicate();
  pr.SentEntries(4, 4);
  EXPECT_FALSE(pr.MaybeDecrTo(Index(6), Index(6)));  // stale
  EXPECT_TRUE(pr.MaybeDecrTo(Index(8), Index(7)));
  EXPECT_EQ(pr.next(), Index(7));
}

TEST(ProgressTest, SnapshotStateAndProbeAfterward) {
  Progress pr(Index(3), 10, 0);
  pr.BecomeSnapshot(Index(20));
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_EQ(pr.pending_snapshot(), Index(20));
  pr.BecomeProbe();
  EXPECT_EQ(pr.next(), Index(21));
  EXPECT_EQ(pr.state(), ProgressState::kProbe);
}

}  // namespace
}  // namespace sluice::raft
