// Leader election: randomized timeouts (thesis §3.4), the up-to-date rule
// (§3.6.1), pre-vote (§9.6) and check-quorum (§6.2, §4.2.3).
#include <set>

#include "gtest/gtest.h"
#include "tests/raft/test_network.h"

namespace sluice::raft::testing {
namespace {

using sluice::internal::raft::MESSAGE_TYPE_PRE_VOTE;
using sluice::internal::raft::MESSAGE_TYPE_VOTE;

TEST(ElectionTest, RandomizedTimeoutInRangeAndVaried) {
  TestNetwork net(1);
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) {
    // Each Reset draws a new timeout; force one through a term change.
    Message hb;
    hb.set_type(sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT);
    hb.set_group(kGroup.value());
    hb.set_from(2);
    hb.set_to(1);
    hb.set_term(i + 1);
    ASSERT_TRUE(net.node(1).Step(hb).ok());
    int t = net.raft(1).randomized_election_timeout();
    EXPECT_GE(t, 10);
    EXPECT_LT(t, 20);
    seen.insert(t);
  }
  EXPECT_GT(seen.size(), 5u);
}

TEST(ElectionTest, SameSeedSameTimeouts) {
  TestNetwork a(3), b(3);
  for (uint64_t id = 1; id <= 3; ++id) {
    EXPECT_EQ(a.raft(id).randomized_election_timeout(),
              b.raft(id).randomized_election_timeout());
  }
}

TEST(ElectionTest, TicksElectExactlyOneLeader) {
  TestNetwork net(3);
  for (int i = 0; i < 40 && net.Leader() == kNoNode; ++i) {
    net.TickAll();
    net.Stabilize();
  }
  NodeId leader = net.Leader();
  ASSERT_NE(leader, kNoNode);
  int leaders = 0;
  for (uint64_t id = 1; id <= 3; ++id) {
    leaders += net.raft(id).role() == Role::kLeader;
    EXPECT_EQ(net.raft(id).lead(), leader);
    EXPECT_EQ(net.raft(id).term(), net.raft(leader.value()).term());
  }
  EXPECT_EQ(leaders, 1);
}

TEST(ElectionTest, SingleNodeElectsItself) {
  TestNetwork net(1);
  EXPECT_TRUE(net.Elect(1));
  EXPECT_EQ(net.raft(1).term(), Term(1));
}

TEST(ElectionTest, VoteRefusedToOutOfDateLog) {
  TestNetwork net(3, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  net.Heal();
  // Node 3 lacks "x": 2 refuses its vote (§3.6.1) and 3 loses.
  net.Isolate(1);
  net.node(3).Campaign();
  net.Stabilize();
  EXPECT_NE(net.raft(3).role(), Role::kLeader);
  EXPECT_TRUE(net.Elect(2));
}

TEST(ElectionTest, OneVotePerTerm) {
  TestNetwork net(3, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  net.node(1).Campaign();
  net.node(2).Campaign();  // same term 1, split
  net.ProcessAllReadies();
  // Deliver 1's request to 3 first: 3 votes for 1 and refuses 2.
  auto to3 = net.Take(OfType(MESSAGE_TYPE_VOTE, 3));
  ASSERT_EQ(to3.size(), 2u);
  std::sort(to3.begin(), to3.end(), [](const Message& a, const Message& b) {
    return a.from() < b.from();
  });
  for (const Message& m : to3) net.Deliver(m);
  EXPECT_EQ(net.raft(3).vote(), NodeId(1));
  net.Stabilize();
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_NE(net.raft(2).role(), Role::kLeader);
}

TEST(ElectionTest, PreVoteDoesNotBumpTermWhenItCannotWin) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  Term term = net.raft(1).term();
  net.Isolate(3);
  for (int i = 0; i < 100; ++i) {
    net.Tick(3);
    net.Stabilize();
  }
  // Node 3 keeps pre-campaigning but never raises its term.
  EXPECT_EQ(net.raft(3).term(), term);
  EXPECT_EQ(net.raft(3).role(), Role::kPreCandidate);
}

TEST(ElectionTest, PreVoteWinsThenRealElection) {
  TestNetwork net(3);
  net.node(1).Campaign();
  EXPECT_EQ(net.raft(1).role(), Role::kPreCandidate);
  EXPECT_EQ(net.raft(1).term(), Term(0));
  net.ProcessAllReadies();
  EXPECT_EQ(net.Take(OfType(MESSAGE_TYPE_PRE_VOTE)).size(), 2u);
  net.node(1).Campaign();
  net.Stabilize();
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), Term(1));
}

// The transport saw the leader's connection die: the followers elect a new
// leader within a few ticks, not after a whole election timeout.
TEST(ElectionTest, LeaderUnreachableElectsWithinAFewTicks) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(1);
  net.node(2).LeaderUnreachable(NodeId(1));
  net.node(3).LeaderUnreachable(NodeId(1));
  int ticks = 0;
  while (net.raft(2).role() != Role::kLeader &&
         net.raft(3).role() != Role::kLeader && ticks < 10) {
    net.Tick(2);
    net.Tick(3);
    net.Stabilize();
    ++ticks;
  }
  EXPECT_LE(ticks, 4);  // the election timeout is 10-19 ticks
  EXPECT_TRUE(net.raft(2).role() == Role::kLeader ||
              net.raft(3).role() == Role::kLeader);
}

// A false alarm on one follower changes nothing: the other still hears from
// the leader and refuses the pre-vote.
TEST(ElectionTest, LeaderUnreachableFalseAlarmDoesNotDisrupt) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  const Term term = net.raft(1).term();
  net.node(2).LeaderUnreachable(NodeId(3));  // not its leader: ignored
  net.node(2).LeaderUnreachable(NodeId(1));
  for (int i = 0; i < 5; ++i) {
    net.Tick(2);
    net.Stabilize();
  }
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), term);
  EXPECT_EQ(net.raft(2).term(), term);
}

TEST(ElectionTest, CheckQuorumLeaderStepsDownWithoutQuorum) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(2);
  net.Isolate(3);
  for (int i = 0; i < 2 * 10 + 1; ++i) {
    net.Tick(1);
    net.Stabilize();
  }
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
}

TEST(ElectionTest, CheckQuorumLeaderStaysWithQuorum) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(3);
  for (int i = 0; i < 50; ++i) {
    net.Tick(1);
    net.Tick(2);
    net.Stabilize();
  }
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
}

TEST(ElectionTest, FollowerWithLiveLeaderRefusesVotes) {
  // Without pre-vote, node 3 bumps its term; with check-quorum the others
  // ignore it because they heard from the leader recently (§4.2.3).
  TestNetwork net(3, [](Config& c) { c.pre_vote = false; });
  ASSERT_TRUE(net.Elect(1));
  Term term = net.raft(1).term();
  net.node(3).Campaign();
  net.Stabilize();
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), term);
  EXPECT_EQ(net.raft(2).term(), term);
  EXPECT_NE(net.raft(3).role(), Role::kLeader);
}

TEST(ElectionTest, WithoutCheckQuorumDisruptiveCandidateDeposesLeader) {
  // The contrast case: no pre-vote, no check-quorum.
  TestNetwork net(3, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  ASSERT_TRUE(net.Elect(1));
  Term term = net.raft(1).term();
  net.node(3).Campaign();
  net.Stabilize();
  EXPECT_GT(net.raft(1).term(), term);
}

TEST(ElectionTest, LearnerNeverCampaigns) {
  TestNetwork net(0);
  for (uint64_t id = 1; id <= 2; ++id)
    net.AddNode(NodeId(id), Voters({1}, {2}));
  for (int i = 0; i < 50; ++i) net.Tick(2);
  net.Stabilize();
  EXPECT_EQ(net.raft(2).role(), Role::kFollower);
  EXPECT_EQ(net.raft(2).term(), Term(0));
}

TEST(ElectionTest, StepRejectsForeignGroup) {
  TestNetwork net(1);
  Message m;
  m.set_group(99);
  m.set_to(1);
  m.set_from(2);
  m.set_term(1);
  EXPECT_EQ(net.node(1).Step(m).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::raft::testing
