// ReadIndex (thesis §6.4): the leader records its commit index, confirms it is
// still leader with a heartbeat round, then answers; followers forward.
#include "gtest/gtest.h"
#include "tests/raft/test_network.h"

namespace sluice::raft::testing {
namespace {

TEST(ReadIndexTest, LeaderAnswersAfterHeartbeatQuorum) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  ASSERT_TRUE(net.node(1).ReadIndex("r1").ok());
  net.ProcessReady(NodeId(1));
  EXPECT_TRUE(net.at(1).read_states.empty());  // not before the round
  net.Stabilize();
  ASSERT_EQ(net.at(1).read_states.size(), 1u);
  EXPECT_EQ(net.at(1).read_states[0].request_ctx, "r1");
  EXPECT_EQ(net.at(1).read_states[0].index, Index(2));
}

TEST(ReadIndexTest, NoAnswerWithoutQuorum) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(2);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).ReadIndex("r").ok());
  net.Stabilize();
  EXPECT_TRUE(net.at(1).read_states.empty());
}

TEST(ReadIndexTest, FollowerForwardsToLeader) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  ASSERT_TRUE(net.node(3).ReadIndex("f").ok());
  net.Stabilize();
  ASSERT_EQ(net.at(3).read_states.size(), 1u);
  EXPECT_EQ(net.at(3).read_states[0].request_ctx, "f");
  EXPECT_EQ(net.at(3).read_states[0].index, Index(2));
  EXPECT_TRUE(net.at(1).read_states.empty());
}

TEST(ReadIndexTest, FollowerWithoutLeaderFails) {
  TestNetwork net(3);
  EXPECT_EQ(net.node(2).ReadIndex("x").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ReadIndexTest, NewLeaderWaitsForItsFirstCommit) {
  TestNetwork net(3);
  net.node(1).Campaign();
  for (int i = 0; i < 10 && net.raft(1).role() != Role::kLeader; ++i) {
    net.ProcessAllReadies();
    net.DeliverQueued();
  }
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_EQ(net.raft(1).log().committed(), Index(0));
  ASSERT_TRUE(net.node(1).ReadIndex("early").ok());
  net.Stabilize();
  ASSERT_EQ(net.at(1).read_states.size(), 1u);
  // Answered only after the no-op committed, with that index.
  EXPECT_EQ(net.at(1).read_states[0].index, Index(1));
}

TEST(ReadIndexTest, SingleNodeAnswersAtOnce) {
  TestNetwork net(1);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.node(1).ReadIndex("solo").ok());
  net.ProcessReady(NodeId(1));
  ASSERT_EQ(net.at(1).read_states.size(), 1u);
  EXPECT_EQ(net.at(1).read_states[0].index, Index(1));
}

TEST(ReadIndexTest, LaterConfirmationAnswersEarlierRequests) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(2);
  net.Isolate(3);
  ASSERT_TRUE(net.node(1).ReadIndex("a").ok());
  ASSERT_TRUE(net.node(1).ReadIndex("b").ok());
  net.Stabilize();
  net.Heal();
  net.Tick(1);  // heartbeat carries "b"; its acks confirm "a" too
  net.Stabilize();
  ASSERT_EQ(net.at(1).read_states.size(), 2u);
  EXPECT_EQ(net.at(1).read_states[0].request_ctx, "a");
  EXPECT_EQ(net.at(1).read_states[1].request_ctx, "b");
}

}  // namespace
}  // namespace sluice::raft::testing
