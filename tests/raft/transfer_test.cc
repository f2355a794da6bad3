// Leadership transfer (thesis §3.10): catch the target up, send TimeoutNow,
// refuse proposals meanwhile, give up after an election timeout.
#include "gtest/gtest.h"
#include "tests/raft/test_network.h"

namespace sluice::raft::testing {
namespace {

using sluice::internal::raft::MESSAGE_TYPE_TIMEOUT_NOW;

TEST(TransferTest, ToUpToDateFollowerIsImmediate) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.node(1).TransferLeadership(NodeId(2)).ok());
  net.ProcessReady(NodeId(1));
  EXPECT_EQ(net.Take(OfType(MESSAGE_TYPE_TIMEOUT_NOW, 2)).size(), 1u);
  // Deliver for real this time.
  ASSERT_TRUE(net.node(1).TransferLeadership(NodeId(2)).ok());  // no-op
  net.node(1).mutable_raft();
  Message m;
  m.set_type(MESSAGE_TYPE_TIMEOUT_NOW);
  m.set_group(kGroup.value());
  m.set_from(1);
  m.set_to(2);
  m.set_term(net.raft(1).term().value());
  net.Deliver(m);
  net.Stabilize();
  // Check-quorum is on: voters accept the vote despite a live leader because
  // the election is marked as a transfer.
  EXPECT_EQ(net.raft(2).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).lead(), NodeId(2));
}

TEST(TransferTest, ProposalsRefusedWhileTransferring) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(2);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  ASSERT_TRUE(net.node(1).TransferLeadership(NodeId(2)).ok());
  EXPECT_EQ(net.raft(1).lead_transferee(), NodeId(2));
  absl::Status s = net.Propose(1, "y");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("transfer"), std::string::npos);
  ConfChange cc;
  EXPECT_EQ(net.node(1).ProposeConfChange(cc).code(),
            absl::StatusCode::kUnavailable);
}

TEST(TransferTest, AbortedAfterElectionTimeout) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(2);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  ASSERT_TRUE(net.node(1).TransferLeadership(NodeId(2)).ok());
  for (int i = 0; i < 10; ++i) {
    net.Tick(1);
    net.Tick(3);
    net.Stabilize();
  }
  EXPECT_EQ(net.raft(1).lead_transferee(), kNoNode);
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_TRUE(net.Propose(1, "y").ok());
}

TEST(TransferTest, InvalidTargets) {
  TestNetwork net(0);
  for (uint64_t id = 1; id <= 3; ++id) {
    net.AddNode(NodeId(id), Voters({1, 2}, {3}));
  }
  ASSERT_TRUE(net.Elect(1));
  EXPECT_TRUE(net.node(1).TransferLeadership(NodeId(1)).ok());  // self
  EXPECT_EQ(net.raft(1).lead_transferee(), kNoNode);
  EXPECT_EQ(net.node(1).TransferLeadership(NodeId(3)).code(),
            absl::StatusCode::kInvalidArgument);  // learner
  EXPECT_EQ(net.node(1).TransferLeadership(NodeId(9)).code(),
            absl::StatusCode::kInvalidArgument);  // not a member
}

TEST(TransferTest, FollowerForwardsRequestToLeader) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.node(3).TransferLeadership(NodeId(3)).ok());
  net.Stabilize();
  EXPECT_EQ(net.raft(3).role(), Role::kLeader);
}

TEST(TransferTest, NoLeaderKnownIsAnError) {
  TestNetwork net(3);
  EXPECT_EQ(net.node(2).TransferLeadership(NodeId(3)).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sluice::raft::testing
