// Log replication (thesis §3.5): batching, pipelining within a window bounded
// by count and bytes, fast conflict backtracking, probe/replicate states, and
// the proposal errors.
#include "gtest/gtest.h"
#include "tests/raft/test_network.h"

namespace sluice::raft::testing {
namespace {

using sluice::internal::raft::MESSAGE_TYPE_APPEND;
using sluice::internal::raft::MESSAGE_TYPE_APPEND_RESPONSE;
using sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT;
using sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT_RESPONSE;

// A message from node 1 (the leader) to node 2 at node 2's term.
Message FromLeader(TestNetwork& net, sluice::internal::raft::MessageType type) {
  Message m;
  m.set_type(type);
  m.set_group(kGroup.value());
  m.set_from(1);
  m.set_to(2);
  m.set_term(net.raft(2).term().value());
  return m;
}

// Found by tests/fuzz/raft_message_fuzzer.cc: one heartbeat whose commit
// lay past the follower's log crashed the follower (RaftLog::CommitTo's
// check). A correct leader never sends one; a faulty peer must not be able
// to crash a node with it.
TEST(ReplicationTest, HeartbeatCommittingPastTheLogCommitsNothing) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Stabilize();
  const Index last = net.raft(2).log().LastIndex();
  const Index committed = net.raft(2).log().committed();
  Message hb = FromLeader(net, MESSAGE_TYPE_HEARTBEAT);
  hb.set_commit(last.value() + 60);
  EXPECT_TRUE(net.node(2).Step(hb).ok());
  EXPECT_EQ(net.raft(2).log().committed(), committed);
  EXPECT_EQ(net.raft(2).log().LastIndex(), last);
  net.ProcessReady(NodeId(2));
  EXPECT_EQ(net.Take(OfType(MESSAGE_TYPE_HEARTBEAT_RESPONSE, 1)).size(), 1u);
}

// Also found by the fuzzer: an append whose entries do not follow its
// (index, log_term) one by one reached the log, which crashed on the
// "conflict" with a committed entry (or appended out of order).
TEST(ReplicationTest, AppendWithEntriesOutOfPlaceIsRefused) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.Propose(1, "a").ok());
  net.Stabilize();
  const Index last = net.raft(2).log().LastIndex();
  const Term term = net.raft(2).term();
  ASSERT_GT(net.raft(2).log().committed(), Index(1));

  Message app = FromLeader(net, MESSAGE_TYPE_APPEND);
  app.set_index(last.value());
  app.set_log_term(term.value());
  Entry* e = app.add_entries();
  e->set_index(1);  // a committed index, with another term
  e->set_term(term.value() + 1);
  EXPECT_EQ(net.node(2).Step(app).code(), absl::StatusCode::kInvalidArgument);

  e->set_index(last.value() + 2);  // a gap
  e->set_term(term.value());
  EXPECT_EQ(net.node(2).Step(app).code(), absl::StatusCode::kInvalidArgument);

  e->set_index(last.value() + 1);  // a term above the leader's
  e->set_term(term.value() + 1);
  EXPECT_EQ(net.node(2).Step(app).code(), absl::StatusCode::kInvalidArgument);

  app.set_index(~0ull);  // past the end of the index space
  e->set_index(0);
  e->set_term(term.value());
  EXPECT_EQ(net.node(2).Step(app).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(net.raft(2).log().LastIndex(), last);

  app.set_index(last.value());  // and the well-formed append still works
  e->set_index(last.value() + 1);
  EXPECT_TRUE(net.node(2).Step(app).ok());
  EXPECT_EQ(net.raft(2).log().LastIndex(), last + 1);
}

TEST(ReplicationTest, ProposalsCommitAndApplyEverywhereInOrder) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(net.Propose(1, "e" + std::to_string(i)).ok());
  }
  net.Stabilize();
  std::vector<std::string> want{"e0", "e1", "e2", "e3", "e4"};
  for (uint64_t id = 1; id <= 3; ++id) {
    EXPECT_EQ(net.at(id).applied, want) << "node " << id;
    EXPECT_EQ(net.raft(id).log().committed(), Index(6));
  }
}

TEST(ReplicationTest, FollowerRefusesProposalWithLeaderHint) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  absl::Status s = net.Propose(2, "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("leader is 1"), std::string::npos) << s;
}

TEST(ReplicationTest, ProposalsBetweenReadiesTravelInOneAppend) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.Propose(1, "p").ok());
  net.ProcessReady(NodeId(1));
  auto to2 = net.Take(OfType(MESSAGE_TYPE_APPEND, 2));
  ASSERT_EQ(to2.size(), 1u);
  EXPECT_EQ(to2[0].entries_size(), 10);
}

TEST(ReplicationTest, MaxSizePerMessageSplitsBatches) {
  TestNetwork net(2, [](Config& c) { c.max_size_per_msg = 250; });
  ASSERT_TRUE(net.Elect(1));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(net.Propose(1, std::string(100, 'a' + i)).ok());
  }
  net.ProcessReady(NodeId(1));
  auto appends = net.Take(OfType(MESSAGE_TYPE_APPEND, 2));
  ASSERT_GE(appends.size(), 4u);
  int total = 0;
  for (const Message& m : appends) {
    EXPECT_LE(m.entries_size(), 2);
    EXPECT_GE(m.entries_size(), 1);
    total += m.entries_size();
  }
  EXPECT_EQ(total, 10);  // pipelined: all sent without waiting for acks
  for (const Message& m : appends) net.Deliver(m);
  net.Stabilize();
  EXPECT_EQ(net.at(2).applied.size(), 10u);
}

TEST(ReplicationTest, InflightWindowBoundedByCount) {
  TestNetwork net(2, [](Config& c) {
    c.max_size_per_msg = 1;  // one entry per message
    c.max_inflight_msgs = 3;
  });
  ASSERT_TRUE(net.Elect(1));
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(net.Propose(1, "x").ok());
  net.ProcessReady(NodeId(1));
  auto appends = net.Take(OfType(MESSAGE_TYPE_APPEND, 2));
  EXPECT_EQ(appends.size(), 3u);
  EXPECT_EQ(net.raft(1).tracker().progress().at(NodeId(2)).inflights().count(),
            3u);
  // Each acknowledgement frees a slot, which is refilled at once.
  net.Deliver(appends[0]);
  net.ProcessReady(NodeId(2));
  net.DeliverQueued();
  net.ProcessReady(NodeId(1));
  EXPECT_EQ(net.Take(OfType(MESSAGE_TYPE_APPEND, 2)).size(), 1u);
  for (const Message& m : appends) net.Deliver(m);
  net.Stabilize();
  EXPECT_EQ(net.at(2).applied.size(), 8u);
}

TEST(ReplicationTest, InflightWindowBoundedByBytes) {
  TestNetwork net(2, [](Config& c) {
    c.max_size_per_msg = 1;
    c.max_inflight_msgs = 100;
    c.max_inflight_bytes = 250;
  });
  ASSERT_TRUE(net.Elect(1));
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(net.Propose(1, std::string(100, 'x')).ok());
  }
  net.ProcessReady(NodeId(1));
  // 100 + 100 < 250, the third reaches 300 >= 250: then the window is full.
  EXPECT_EQ(net.Take(OfType(MESSAGE_TYPE_APPEND, 2)).size(), 3u);
  EXPECT_TRUE(net.raft(1).tracker().progress().at(NodeId(2)).IsPaused());
}

TEST(ReplicationTest, ProbeThenReplicateThenProbeOnReject) {
  TestNetwork net(3);
  net.node(1).Campaign();
  for (int i = 0; i < 10 && net.raft(1).role() != Role::kLeader; ++i) {
    net.ProcessAllReadies();
    net.DeliverQueued();
  }
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).tracker().progress().at(NodeId(2)).state(),
            ProgressState::kProbe);
  net.Stabilize();
  EXPECT_EQ(net.raft(1).tracker().progress().at(NodeId(2)).state(),
            ProgressState::kReplicate);
  net.node(1).ReportUnreachable(NodeId(2));
  EXPECT_EQ(net.raft(1).tracker().progress().at(NodeId(2)).state(),
            ProgressState::kProbe);
  net.Stabilize();
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  EXPECT_EQ(net.raft(1).tracker().progress().at(NodeId(2)).state(),
            ProgressState::kReplicate);
}

// A follower with a long log of a stale term: the leader skips the whole
// conflicting term in one round trip instead of one index per round trip.
TEST(ReplicationTest, FastBacktrackingSkipsConflictingTerm) {
  TestNetwork net(3, [](Config& c) {
    c.check_quorum = false;
    c.pre_vote = false;
  });
  ASSERT_TRUE(net.Elect(1));  // term 1, noop at 1
  net.Isolate(2);
  net.Isolate(3);
  // 1 appends 50 entries at term 1 that nobody else gets.
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(net.Propose(1, "stale").ok());
  net.Stabilize();
  net.Heal();
  net.Isolate(1);
  ASSERT_TRUE(net.Elect(2));
  ASSERT_TRUE(net.Propose(2, "fresh").ok());
  net.Stabilize();
  net.Heal();
  int rejects = 0;
  net.set_drop([&](const Message& m) {
    if (m.type() == MESSAGE_TYPE_APPEND_RESPONSE && m.reject()) ++rejects;
    return false;
  });
  ASSERT_TRUE(net.Propose(2, "more").ok());
  net.Tick(2);  // heartbeat: node 1 steps down and answers
  net.Stabilize();
  EXPECT_LE(rejects, 2);
  EXPECT_EQ(net.raft(1).log().committed(), net.raft(2).log().committed())
      << net.raft(1).log().DebugString() << " / "
      << net.raft(2).log().DebugString() << " "
      << net.raft(2).tracker().progress().at(NodeId(1)).DebugString();
  EXPECT_EQ(net.raft(1).log().LastIndex(), net.raft(2).log().LastIndex());
  EXPECT_EQ(net.at(1).applied, (std::vector<std::string>{"fresh", "more"}));
}

TEST(ReplicationTest, UncommittedBudgetRefusesProposals) {
  TestNetwork net(3, [](Config& c) { c.max_uncommitted_entries_size = 300; });
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(2);
  net.Isolate(3);
  ASSERT_TRUE(net.Propose(1, std::string(200, 'a')).ok());
  ASSERT_TRUE(net.Propose(1, std::string(100, 'b')).ok());
  absl::Status s = net.Propose(1, "c");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  net.Heal();
  net.Stabilize();
  EXPECT_TRUE(net.Propose(1, "c").ok());
}

TEST(ReplicationTest, LearnerReceivesEntriesButDoesNotCount) {
  TestNetwork net(0);
  for (uint64_t id = 1; id <= 3; ++id) {
    net.AddNode(NodeId(id), Voters({1, 2}, {3}));
  }
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(2);
  ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  // The learner has it, but 1 + learner is not a quorum of {1, 2}.
  EXPECT_EQ(net.raft(3).log().LastIndex(), Index(2));
  EXPECT_EQ(net.raft(1).log().committed(), Index(1));
  net.Heal();
  net.Tick(1);  // heartbeat; its response resumes the paused probe
  net.Stabilize();
  EXPECT_EQ(net.raft(1).log().committed(), Index(2));
  EXPECT_EQ(net.at(3).applied, std::vector<std::string>{"x"});
}

// Appends lost while the window was full must not block the follower
// forever: a heartbeat response opens a slot, the follower's rejection sends
// the leader back to probing, and replication resumes.
TEST(ReplicationTest, LostAppendsInFullWindowRecoverAfterHeartbeat) {
  TestNetwork net(2, [](Config& c) {
    c.max_size_per_msg = 1;
    c.max_inflight_msgs = 2;
  });
  ASSERT_TRUE(net.Elect(1));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(net.Propose(1, "x").ok());
  net.ProcessReady(NodeId(1));
  ASSERT_EQ(net.Take(OfType(MESSAGE_TYPE_APPEND, 2)).size(), 2u);  // lost
  ASSERT_TRUE(net.raft(1).tracker().progress().at(NodeId(2)).IsPaused());
  net.Tick(1);
  net.Stabilize();
  EXPECT_EQ(net.at(2).applied.size(), 6u);
}

}  // namespace
}  // namespace sluice::raft::testing
