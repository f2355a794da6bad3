#include "raft/core/confchange.h"

#include "gtest/gtest.h"

namespace sluice::raft {
namespace {

using sluice::internal::raft::ConfChange;
using sluice::internal::raft::ConfChangeType;

ConfChange Change(ConfChangeType type, uint64_t id,
                  sluice::internal::raft::ConfChangeTransition t =
                      sluice::internal::raft::CONF_CHANGE_TRANSITION_AUTO) {
  ConfChange cc;
  cc.set_transition(t);
  auto* c = cc.add_changes();
  c->set_type(type);
  c->set_node_id(id);
  return cc;
}

TrackerConfig ThreeVoters() {
  TrackerConfig c;
  c.voters = {NodeId(1), NodeId(2), NodeId(3)};
  return c;
}

TEST(ConfChangeTest, SimpleAddLearnerThenPromote) {
  auto c1 = NextConfig(
      ThreeVoters(),
      Change(sluice::internal::raft::CONF_CHANGE_TYPE_ADD_LEARNER, 4));
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_FALSE(c1->Joint());
  EXPECT_TRUE(c1->learners.contains(NodeId(4)));
  auto c2 = NextConfig(
      *c1, Change(sluice::internal::raft::CONF_CHANGE_TYPE_ADD_VOTER, 4));
  ASSERT_TRUE(c2.ok());
  EXPECT_FALSE(c2->Joint());
  EXPECT_TRUE(c2->voters.contains(NodeId(4)));
  EXPECT_TRUE(c2->learners.empty());
}

TEST(ConfChangeTest, TwoVoterChangesEnterJointAndLeave) {
  ConfChange cc = Change(sluice::internal::raft::CONF_CHANGE_TYPE_ADD_VOTER, 4);
  auto* rm = cc.add_changes();
  rm->set_type(sluice::internal::raft::CONF_CHANGE_TYPE_REMOVE);
  rm->set_node_id(1);
  auto joint = NextConfig(ThreeVoters(), cc);
  ASSERT_TRUE(joint.ok()) << joint.status();
  EXPECT_TRUE(joint->Joint());
  EXPECT_TRUE(joint->auto_leave);
  EXPECT_EQ(joint->voters, (VoterSet{NodeId(2), NodeId(3), NodeId(4)}));
  EXPECT_EQ(joint->voters_outgoing,
            (VoterSet{NodeId(1), NodeId(2), NodeId(3)}));
  // No second change while joint.
  EXPECT_FALSE(
      NextConfig(*joint,
                 Change(sluice::internal::raft::CONF_CHANGE_TYPE_ADD_VOTER, 5))
          .ok());
  auto left = NextConfig(*joint, ConfChange());
  ASSERT_TRUE(left.ok());
  EXPECT_FALSE(left->Joint());
  EXPECT_EQ(left->voters, (VoterSet{NodeId(2), NodeId(3), NodeId(4)}));
}

TEST(ConfChangeTest, DemoteVoterInJointGoesThroughLearnersNext) {
  auto joint = NextConfig(
      ThreeVoters(),
      Change(sluice::internal::raft::CONF_CHANGE_TYPE_ADD_LEARNER, 3,
             sluice::internal::raft::CONF_CHANGE_TRANSITION_JOINT_EXPLICIT));
  ASSERT_TRUE(joint.ok()) << joint.status();
  EXPECT_TRUE(joint->learners_next.contains(NodeId(3)));
  EXPECT_FALSE(joint->auto_leave);
  auto left = NextConfig(*joint, ConfChange());
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->learners.contains(NodeId(3)));
  EXPECT_FALSE(left->voters.contains(NodeId(3)));
}

TEST(ConfChangeTest, RejectsImpossibleChanges) {
  EXPECT_FALSE(NextConfig(ThreeVoters(), ConfChange()).ok());  // not joint
  TrackerConfig one;
  one.voters = {NodeId(1)};
  EXPECT_FALSE(
      NextConfig(one,
                 Change(sluice::internal::raft::CONF_CHANGE_TYPE_REMOVE, 1))
          .ok());
  EXPECT_FALSE(
      NextConfig(one,
                 Change(sluice::internal::raft::CONF_CHANGE_TYPE_ADD_VOTER, 0))
          .ok());
}

TEST(ConfChangeTest, ConfStateRoundTrip) {
  auto joint = NextConfig(
      ThreeVoters(),
      Change(sluice::internal::raft::CONF_CHANGE_TYPE_ADD_VOTER, 4,
             sluice::internal::raft::CONF_CHANGE_TRANSITION_JOINT_IMPLICIT));
  ASSERT_TRUE(joint.ok());
  auto back = ConfigFromConfState(joint->ToConfState());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *joint);
}

}  // namespace
}  // namespace sluice::raft
