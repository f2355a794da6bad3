// The host contract (raft/README.md): what a Ready asks to persist, which
// messages may leave before the write is durable, and the leader counting its
// own copy only once durable (thesis §10.2.1; etcd #14370).
#include "gtest/gtest.h"
#include "tests/raft/test_network.h"

namespace sluice::raft::testing {
namespace {

using sluice::internal::raft::MESSAGE_TYPE_APPEND;
using sluice::internal::raft::MESSAGE_TYPE_APPEND_RESPONSE;
using sluice::internal::raft::MESSAGE_TYPE_VOTE;
using sluice::internal::raft::MESSAGE_TYPE_VOTE_RESPONSE;

TEST(DurabilityTest, SingleNodeCommitsOnlyAfterAdvance) {
  TestNetwork net(1);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.Propose(1, "x").ok());
  RawNode& n = net.node(1);
  Ready rd = n.GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.must_sync);
  EXPECT_TRUE(rd.committed_entries.empty());
  EXPECT_EQ(n.raft().log().committed(), Index(1));
  ASSERT_TRUE(net.at(1).storage->Append(rd.entries).ok());
  n.Advance();  // the write is durable now
  EXPECT_EQ(n.raft().log().committed(), Index(2));
  Ready rd2 = n.GetReady();
  ASSERT_EQ(rd2.committed_entries.size(), 1u);
  EXPECT_EQ(rd2.committed_entries[0].data(), "x");
  n.Advance();
}

TEST(DurabilityTest, LeaderSendsInParallelButCountsItselfOnlyWhenDurable) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  RawNode& leader = net.node(1);
  Ready rd = leader.GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  // The append to the follower may leave before our own write completes.
  ASSERT_EQ(rd.messages.size(), 2u);
  for (const Message& m : rd.messages) {
    EXPECT_EQ(m.type(), MESSAGE_TYPE_APPEND);
    net.Deliver(m);
  }
  // Follower 2 persists and acknowledges.
  net.ProcessReady(NodeId(2));
  auto acks = net.Take(OfType(MESSAGE_TYPE_APPEND_RESPONSE, 1));
  ASSERT_EQ(acks.size(), 1u);
  ASSERT_TRUE(leader.Step(acks[0]).ok());
  // 2 of 3 hold the entry, but the leader's copy is not durable yet: the
  // only durable copy is node 2's, no quorum.
  EXPECT_EQ(leader.raft().log().committed(), Index(1));
  ASSERT_TRUE(net.at(1).storage->Append(rd.entries).ok());
  leader.Advance();
  EXPECT_EQ(leader.raft().log().committed(), Index(2));
}

TEST(DurabilityTest, FollowerAcksOnlyAfterPersist) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.ProcessReady(NodeId(1));
  net.DeliverQueued();
  Ready rd = net.node(2).GetReady();
  EXPECT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.messages.empty());
  ASSERT_EQ(rd.messages_after_persist.size(), 1u);
  EXPECT_EQ(rd.messages_after_persist[0].type(), MESSAGE_TYPE_APPEND_RESPONSE);
  EXPECT_EQ(rd.messages_after_persist[0].index(), 2u);
  net.node(2).Advance();
}

TEST(DurabilityTest, VotesAreSentAfterTheirHardStateIsPersisted) {
  TestNetwork net(3, [](Config& c) { c.pre_vote = false; });
  net.node(1).Campaign();
  Ready rd = net.node(1).GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term(), 1u);
  EXPECT_EQ(rd.hard_state->vote(), 1u);
  EXPECT_TRUE(rd.must_sync);
  EXPECT_TRUE(rd.messages.empty());
  ASSERT_EQ(rd.messages_after_persist.size(), 2u);
  EXPECT_EQ(rd.messages_after_persist[0].type(), MESSAGE_TYPE_VOTE);
  net.node(1).Advance();
  net.Deliver(rd.messages_after_persist[0]);
  Ready r2 = net.node(2).GetReady();
  ASSERT_TRUE(r2.hard_state.has_value());
  EXPECT_EQ(r2.hard_state->vote(), 1u);
  ASSERT_EQ(r2.messages_after_persist.size(), 1u);
  EXPECT_EQ(r2.messages_after_persist[0].type(), MESSAGE_TYPE_VOTE_RESPONSE);
  net.node(2).Advance();
}

TEST(DurabilityDeathTest, GetReadyTwiceWithoutAdvanceCrashesNamingGroup) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TestNetwork net(1);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.Propose(1, "x").ok());
  RawNode& n = net.node(1);
  Ready rd = n.GetReady();
  EXPECT_DEATH(n.GetReady(), "group=7 term=1 index=2");
  n.Advance();
}

TEST(ConfigTest, ValidateNamesTheField) {
  Random random(1);
  Config c = TestConfig(NodeId(1));
  c.random = &random;
  EXPECT_TRUE(c.Validate().ok());
  Config bad = c;
  bad.id = kNoNode;
  EXPECT_EQ(bad.Validate().code(), absl::StatusCode::kInvalidArgument);
  bad = c;
  bad.election_tick = 1;
  EXPECT_NE(bad.Validate().message().find("election_tick"), std::string::npos);
  bad = c;
  bad.random = nullptr;
  EXPECT_FALSE(bad.Validate().ok());
  MemoryStorage storage;
  EXPECT_FALSE(RawNode::Create(bad, &storage).ok());
}

}  // namespace
}  // namespace sluice::raft::testing
