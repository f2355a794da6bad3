// Quiescence: an idle group stops ticking and heartbeating once every member
// holds the whole log; any message or request wakes it, and a follower told
// that its leader's node is gone campaigns (raft/README.md, "Quiescence").
#include "gtest/gtest.h"
#include "tests/raft/test_network.h"

namespace sluice::raft::testing {
namespace {

void Production(Config& c) {
  c.pre_vote = true;
  c.check_quorum = true;
}

// Elects node 1, commits one entry and runs one heartbeat round so that the
// leader has heard from every follower.
void IdleGroup(TestNetwork& net) {
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  net.Tick(1);
  net.Stabilize();
}

size_t MessagesAfterTicks(TestNetwork& net, int ticks) {
  size_t sent = 0;
  for (int i = 0; i < ticks; ++i) {
    net.TickAll();
    net.ProcessAllReadies();
    sent += net.queue().size();
    net.DeliverQueued();
  }
  return sent;
}

TEST(QuiescenceTest, IdleGroupGoesSilentWithoutLosingItsLeader) {
  TestNetwork net(3, Production);
  IdleGroup(net);
  EXPECT_GT(MessagesAfterTicks(net, 5), 0u);  // awake: heartbeats every tick
  ASSERT_TRUE(net.node(1).MaybeQuiesce());
  net.Stabilize();
  for (uint64_t id : {1, 2, 3}) EXPECT_TRUE(net.node(id).quiesced()) << id;

  const Term term = net.raft(1).term();
  // Far past any election timeout: no message, no election.
  EXPECT_EQ(MessagesAfterTicks(net, 100), 0u);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(2).lead(), NodeId(1));
  EXPECT_EQ(net.raft(3).term(), term);
}

TEST(QuiescenceTest, NotWhileAFollowerIsBehind) {
  TestNetwork net(3, Production);
  IdleGroup(net);
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, "y").ok());
  net.Stabilize();
  EXPECT_FALSE(net.node(1).MaybeQuiesce());
  net.Heal();
  net.Tick(1);  // the heartbeat answer shows 3 is behind: catch it up
  net.Stabilize();
  EXPECT_TRUE(net.node(1).MaybeQuiesce());
}

TEST(QuiescenceTest, NotBeforeEveryFollowerWasHeardFrom) {
  TestNetwork net(3, Production);
  IdleGroup(net);
  net.Isolate(2);
  // A quorum check clears "recently active"; 2 does not answer after it.
  for (int i = 0; i < 10; ++i) {
    net.Tick(1);
    net.Stabilize();
  }
  EXPECT_FALSE(net.node(1).MaybeQuiesce());
  net.Heal();
  net.Tick(1);
  net.Stabilize();
  EXPECT_TRUE(net.node(1).MaybeQuiesce());
}

TEST(QuiescenceTest, NotWithUncommittedOrUnappliedWork) {
  TestNetwork net(3, Production);
  IdleGroup(net);
  ASSERT_TRUE(net.Propose(1, "pending").ok());
  EXPECT_FALSE(net.node(1).MaybeQuiesce());  // proposed, not even sent
  net.ProcessReady(NodeId(1));
  EXPECT_FALSE(net.node(1).MaybeQuiesce());  // sent, not committed
  net.Stabilize();
  net.Tick(1);
  net.Stabilize();
  EXPECT_TRUE(net.node(1).MaybeQuiesce());
}

TEST(QuiescenceTest, AProposalWakesTheGroupAndCommits) {
  TestNetwork net(3, Production);
  IdleGroup(net);
  ASSERT_TRUE(net.node(1).MaybeQuiesce());
  net.Stabilize();
  ASSERT_TRUE(net.Propose(1, "wake").ok());
  EXPECT_FALSE(net.node(1).quiesced());
  net.Stabilize();
  const Index last = net.raft(1).log().LastIndex();
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_FALSE(net.node(id).quiesced()) << id;
    EXPECT_EQ(net.raft(id).log().committed(), last) << id;
  }
  // Awake again: heartbeats flow, and the group can go quiet again.
  EXPECT_GT(MessagesAfterTicks(net, 1), 0u);
  EXPECT_TRUE(net.node(1).MaybeQuiesce());
}

TEST(QuiescenceTest, QuiescedFollowersNeedTheHostToNoticeADeadLeader) {
  TestNetwork net(3, Production);
  IdleGroup(net);
  ASSERT_TRUE(net.node(1).MaybeQuiesce());
  net.Stabilize();
  const Term term = net.raft(2).term();
  net.Isolate(1);  // the leader's node dies
  for (int i = 0; i < 50; ++i) {
    net.Tick(2);
    net.Tick(3);
    net.Stabilize();
  }
  EXPECT_EQ(net.raft(2).term(), term) << "a quiesced follower never times out";
  // The host's liveness check reports the silent node.
  net.node(2).LeaderUnreachable(NodeId(1));
  net.node(3).LeaderUnreachable(NodeId(1));
  for (int i = 0; i < 30 && net.Leader() == kNoNode; ++i) {
    net.Tick(2);
    net.Tick(3);
    net.Stabilize();
  }
  const NodeId leader = net.Leader();
  EXPECT_TRUE(leader == NodeId(2) || leader == NodeId(3));
  EXPECT_GT(net.raft(2).term(), term);
}

TEST(QuiescenceTest, AFalseAlarmWakesTheGroupButKeepsTheLeader) {
  TestNetwork net(3, Production);
  IdleGroup(net);
  ASSERT_TRUE(net.node(1).MaybeQuiesce());
  net.Stabilize();
  const Term term = net.raft(1).term();
  // Only node 3 believes the leader is gone; its pre-vote wakes the others,
  // node 2 refuses (it heard from the leader), the leader heartbeats again.
  net.node(3).LeaderUnreachable(NodeId(1));
  for (int i = 0; i < 40; ++i) {
    net.TickAll();
    net.Stabilize();
  }
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), term);
  EXPECT_EQ(net.raft(3).lead(), NodeId(1));
  EXPECT_FALSE(net.node(1).quiesced());
}

TEST(QuiescenceTest, AFollowerMissingEntriesAnswersAndStaysAwake) {
  TestNetwork net(3, Production);
  IdleGroup(net);
  Message m;
  m.set_type(sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT);
  m.set_group(net.raft(1).group().value());
  m.set_from(1);
  m.set_to(2);
  m.set_term(net.raft(1).term().value());
  m.set_commit(net.raft(2).log().LastIndex().value() - 1);
  m.set_quiesce(true);
  ASSERT_TRUE(net.node(2).Step(m).ok());
  EXPECT_FALSE(net.node(2).quiesced());
  net.ProcessReady(NodeId(2));
  auto answers = net.Take([](const Message& x) {
    return x.type() == sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT_RESPONSE;
  });
  EXPECT_EQ(answers.size(), 1u);
}

TEST(QuiescenceTest, TransferAndReadIndexWakeALeader) {
  TestNetwork net(3, Production);
  IdleGroup(net);
  ASSERT_TRUE(net.node(1).MaybeQuiesce());
  net.Stabilize();
  ASSERT_TRUE(net.node(1).ReadIndex("r").ok());
  EXPECT_FALSE(net.node(1).quiesced());
  net.Stabilize();
  ASSERT_EQ(net.at(1).read_states.size(), 1u);

  net.Tick(1);
  net.Stabilize();
  ASSERT_TRUE(net.node(1).MaybeQuiesce());
  net.Stabilize();
  ASSERT_TRUE(net.node(1).TransferLeadership(NodeId(3)).ok());
  net.Stabilize();
  EXPECT_EQ(net.raft(3).role(), Role::kLeader);
  EXPECT_EQ(net.raft(2).lead(), NodeId(3));
}

TEST(QuiescenceTest, AWokenLeaderCutOffFromItsFollowersStepsDown) {
  TestNetwork net(3, Production);
  IdleGroup(net);
  ASSERT_TRUE(net.node(1).MaybeQuiesce());
  net.Stabilize();
  net.Isolate(1);
  net.node(1).Unquiesce();  // the host saw both peers go silent
  for (int i = 0; i < 25 && net.raft(1).role() == Role::kLeader; ++i) {
    EXPECT_FALSE(net.node(1).MaybeQuiesce()) << "nobody answered since";
    net.Tick(1);
    net.Stabilize();
  }
  EXPECT_NE(net.raft(1).role(), Role::kLeader);
}

}  // namespace
}  // namespace sluice::raft::testing
