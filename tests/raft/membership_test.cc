// Membership changes (thesis chapter 4): learners that catch up and are
// promoted, removal, one change at a time, the new-leader rule, and joint
// consensus with automatic and explicit leave.
#include "gtest/gtest.h"
#include "tests/raft/test_network.h"

namespace sluice::raft::testing {
namespace {

using sluice::internal::raft::CONF_CHANGE_TRANSITION_JOINT_EXPLICIT;
using sluice::internal::raft::CONF_CHANGE_TYPE_ADD_LEARNER;
using sluice::internal::raft::CONF_CHANGE_TYPE_ADD_VOTER;
using sluice::internal::raft::CONF_CHANGE_TYPE_REMOVE;
using sluice::internal::raft::ConfChangeType;

ConfChange Change(ConfChangeType type, uint64_t id) {
  ConfChange cc;
  auto* c = cc.add_changes();
  c->set_type(type);
  c->set_node_id(id);
  return cc;
}

void AddChange(ConfChange& cc, ConfChangeType type, uint64_t id) {
  auto* c = cc.add_changes();
  c->set_type(type);
  c->set_node_id(id);
}

TEST(MembershipTest, AddLearnerCatchUpThenPromote) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  for (const char* d : {"a", "b"}) ASSERT_TRUE(net.Propose(1, d).ok());
  net.Stabilize();
  net.AddNode(NodeId(4), Voters({1, 2, 3}));  // config at index 0
  ASSERT_TRUE(net.node(1)
                  .ProposeConfChange(Change(CONF_CHANGE_TYPE_ADD_LEARNER, 4))
                  .ok());
  net.Stabilize();
  EXPECT_TRUE(net.raft(1).tracker().config().learners.contains(NodeId(4)));
  // The learner catches up from the log (which starts at index 1 here).
  net.Tick(1);
  net.Stabilize();
  EXPECT_EQ(net.at(4).applied, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(net.raft(4).tracker().config().learners.contains(NodeId(4)));
  // Caught up: promote.
  const Progress& pr = net.raft(1).tracker().progress().at(NodeId(4));
  EXPECT_EQ(pr.match(), net.raft(1).log().LastIndex());
  ASSERT_TRUE(net.node(1)
                  .ProposeConfChange(Change(CONF_CHANGE_TYPE_ADD_VOTER, 4))
                  .ok());
  net.Stabilize();
  for (uint64_t id = 1; id <= 4; ++id) {
    EXPECT_TRUE(net.raft(id).tracker().config().voters.contains(NodeId(4)))
        << id;
  }
  // Now 4 counts toward the quorum of 4: two nodes down blocks commits.
  net.Isolate(3);
  net.Isolate(4);
  ASSERT_TRUE(net.Propose(1, "c").ok());
  net.Stabilize();
  EXPECT_EQ(net.at(1).applied.size(), 2u);
  net.Heal();
  net.Tick(1);
  net.Stabilize();
  EXPECT_EQ(net.at(1).applied.size(), 3u);
}

TEST(MembershipTest, RemovedFollowerGetsNothingMore) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(
      net.node(1).ProposeConfChange(Change(CONF_CHANGE_TYPE_REMOVE, 3)).ok());
  net.Stabilize();
  EXPECT_FALSE(net.raft(1).tracker().config().IsMember(NodeId(3)));
  // 3 is gone: 1 and 2 are the whole quorum.
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  EXPECT_EQ(net.at(1).applied, std::vector<std::string>{"x"});
  EXPECT_TRUE(net.at(3).applied.empty());
}

TEST(MembershipTest, OnlyOnePendingChange) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.AddNode(NodeId(4), Voters({1, 2, 3}));  // config at index 0
  net.AddNode(NodeId(5), Voters({1, 2, 3}));
  ASSERT_TRUE(net.node(1)
                  .ProposeConfChange(Change(CONF_CHANGE_TYPE_ADD_LEARNER, 4))
                  .ok());
  absl::Status s =
      net.node(1).ProposeConfChange(Change(CONF_CHANGE_TYPE_ADD_LEARNER, 5));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  net.Stabilize();
  EXPECT_TRUE(net.node(1)
                  .ProposeConfChange(Change(CONF_CHANGE_TYPE_ADD_LEARNER, 5))
                  .ok());
}

TEST(MembershipTest, NewLeaderCommitsOwnTermEntryFirst) {
  TestNetwork net(3, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  ASSERT_TRUE(net.Elect(1));
  net.Stabilize();
  // 2 becomes leader but its no-op has not committed yet.
  net.node(2).Campaign();
  for (int i = 0; i < 10 && net.raft(2).role() != Role::kLeader; ++i) {
    net.ProcessAllReadies();
    net.DeliverQueued();
  }
  ASSERT_EQ(net.raft(2).role(), Role::kLeader);
  ASSERT_LT(net.raft(2).log().committed(), net.raft(2).log().LastIndex());
  absl::Status s =
      net.node(2).ProposeConfChange(Change(CONF_CHANGE_TYPE_REMOVE, 3));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  net.Stabilize();
  EXPECT_TRUE(
      net.node(2).ProposeConfChange(Change(CONF_CHANGE_TYPE_REMOVE, 3)).ok());
}

TEST(MembershipTest, JointConsensusReplacesTwoVotersAndLeavesAutomatically) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.AddNode(NodeId(4), Voters({1, 2, 3}));  // config at index 0
  net.AddNode(NodeId(5), Voters({1, 2, 3}));
  for (uint64_t id : {4, 5}) {
    ASSERT_TRUE(net.node(1)
                    .ProposeConfChange(Change(CONF_CHANGE_TYPE_ADD_LEARNER, id))
                    .ok());
    net.Stabilize();
    net.Tick(1);
    net.Stabilize();
  }
  // Replace 2 and 3 by 4 and 5 in one joint change.
  ConfChange cc;
  AddChange(cc, CONF_CHANGE_TYPE_ADD_VOTER, 4);
  AddChange(cc, CONF_CHANGE_TYPE_ADD_VOTER, 5);
  AddChange(cc, CONF_CHANGE_TYPE_REMOVE, 2);
  AddChange(cc, CONF_CHANGE_TYPE_REMOVE, 3);
  ASSERT_TRUE(net.node(1).ProposeConfChange(cc).ok());
  // Commit and apply the joint entry only on the leader side: stop before
  // the automatic leave is replicated.
  net.Stabilize();
  const TrackerConfig& cfg = net.raft(1).tracker().config();
  EXPECT_FALSE(cfg.Joint());  // left automatically
  EXPECT_EQ(cfg.voters, (VoterSet{NodeId(1), NodeId(4), NodeId(5)}));
  for (uint64_t id : {4, 5}) {
    EXPECT_EQ(net.raft(id).tracker().config(), cfg) << id;
  }
  // The new configuration works without 2 and 3.
  net.Isolate(2);
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, "new").ok());
  net.Stabilize();
  EXPECT_EQ(net.at(5).applied, std::vector<std::string>{"new"});
}

TEST(MembershipTest, JointNeedsBothMajorities) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.AddNode(NodeId(4), Voters({1, 2, 3}));  // config at index 0
  net.AddNode(NodeId(5), Voters({1, 2, 3}));
  ConfChange cc;
  cc.set_transition(CONF_CHANGE_TRANSITION_JOINT_EXPLICIT);
  AddChange(cc, CONF_CHANGE_TYPE_ADD_VOTER, 4);
  AddChange(cc, CONF_CHANGE_TYPE_ADD_VOTER, 5);
  AddChange(cc, CONF_CHANGE_TYPE_REMOVE, 3);
  ASSERT_TRUE(net.node(1).ProposeConfChange(cc).ok());
  net.Stabilize();
  net.Tick(1);
  net.Stabilize();
  ASSERT_TRUE(net.raft(1).tracker().config().Joint());  // explicit: stays
  // Old {1,2,3}, new {1,2,4,5}. With 2 down: old has 1,3 (majority) but new
  // has only 1,4,5... that is 3 of 4, a majority too. With 2 and 3 down the
  // old config has no majority: nothing commits.
  net.Isolate(2);
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, "blocked").ok());
  net.Stabilize();
  EXPECT_TRUE(net.at(1).applied.empty());
  net.Heal();
  net.Tick(1);
  net.Stabilize();
  EXPECT_EQ(net.at(1).applied, std::vector<std::string>{"blocked"});
  // Leave explicitly.
  ASSERT_TRUE(net.node(1).ProposeConfChange(ConfChange()).ok());
  net.Stabilize();
  EXPECT_FALSE(net.raft(1).tracker().config().Joint());
  EXPECT_EQ(net.raft(1).tracker().config().voters,
            (VoterSet{NodeId(1), NodeId(2), NodeId(4), NodeId(5)}));
}

TEST(MembershipTest, InvalidChangeIsRefused) {
  TestNetwork net(1);
  ASSERT_TRUE(net.Elect(1));
  net.Stabilize();
  EXPECT_EQ(
      net.node(1).ProposeConfChange(Change(CONF_CHANGE_TYPE_REMOVE, 1)).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(net.node(1).ProposeConfChange(ConfChange()).code(),
            absl::StatusCode::kInvalidArgument);  // not joint
}

TEST(MembershipTest, NoCampaignWithCommittedUnappliedConfChange) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(
      net.node(1).ProposeConfChange(Change(CONF_CHANGE_TYPE_REMOVE, 3)).ok());
  // Node 2 receives and commits the change but has not applied it yet.
  net.ProcessReady(NodeId(1));
  net.DeliverQueued();
  net.ProcessReady(NodeId(2));
  net.DeliverQueued();
  net.ProcessReady(NodeId(1));  // leader commits; tells node 2
  net.DeliverQueued();
  ASSERT_GT(net.raft(2).log().committed(), net.raft(2).log().applied());
  net.node(2).Campaign();
  EXPECT_EQ(net.raft(2).role(), Role::kFollower);
  net.Stabilize();
  net.node(2).Campaign();  // applied now: allowed
  EXPECT_NE(net.raft(2).role(), Role::kFollower);
}

}  // namespace
}  // namespace sluice::raft::testing
