// Snapshots (thesis chapter 5): compaction behind the applied index, sending a
// snapshot to a follower whose next entries are compacted, reporting the
// transfer's outcome, and installing one on the follower.
#include "gtest/gtest.h"
#include "tests/raft/test_network.h"

namespace sluice::raft::testing {
namespace {

using sluice::internal::raft::MESSAGE_TYPE_SNAPSHOT;

// Leader 1 has applied "a".."e" and compacted; node 3 missed all of it.
void LaggingFollowerAfterCompaction(TestNetwork& net) {
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(3);
  for (const char* d : {"a", "b", "c", "d", "e"}) {
    ASSERT_TRUE(net.Propose(1, d).ok());
  }
  net.Stabilize();
  net.SnapshotAndCompact(1);
  ASSERT_EQ(net.at(1).storage->FirstIndex(), Index(7));
  net.Heal();
}

TEST(SnapshotTest, FollowerTooFarBehindReceivesSnapshot) {
  TestNetwork net(3);
  LaggingFollowerAfterCompaction(net);
  if (HasFatalFailure()) return;
  int snapshots = 0;
  net.set_drop([&](const Message& m) {
    snapshots += m.type() == MESSAGE_TYPE_SNAPSHOT;
    return false;
  });
  net.Tick(1);
  net.Stabilize();
  EXPECT_EQ(snapshots, 1);
  EXPECT_EQ(net.at(3).applied,
            (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(net.at(3).storage->FirstIndex(), Index(7));
  EXPECT_EQ(net.raft(1).tracker().progress().at(NodeId(3)).state(),
            ProgressState::kReplicate);
  ASSERT_TRUE(net.Propose(1, "f").ok());
  net.Stabilize();
  EXPECT_EQ(net.at(3).applied.back(), "f");
}

TEST(SnapshotTest, FailedSnapshotIsRetriedAfterHeartbeat) {
  TestNetwork net(3);
  LaggingFollowerAfterCompaction(net);
  if (HasFatalFailure()) return;
  bool fail = true;
  net.set_drop([&](const Message& m) {
    return fail && m.type() == MESSAGE_TYPE_SNAPSHOT;
  });
  net.Tick(1);
  net.Stabilize();
  // The transport reported failure: back to probing, waiting for a reply.
  const Progress& pr = net.raft(1).tracker().progress().at(NodeId(3));
  EXPECT_EQ(pr.state(), ProgressState::kProbe);
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_TRUE(net.at(3).applied.empty());
  fail = false;
  net.Tick(1);
  net.Stabilize();
  EXPECT_EQ(net.at(3).applied.size(), 5u);
}

TEST(SnapshotTest, NoAppendsWhileSnapshotPending) {
  TestNetwork net(3);
  LaggingFollowerAfterCompaction(net);
  if (HasFatalFailure()) return;
  net.set_report_snapshots(false);
  std::vector<Message> held;
  net.set_drop([&](const Message& m) {
    if (m.type() == MESSAGE_TYPE_SNAPSHOT) {
      held.push_back(m);
      return true;
    }
    return false;
  });
  // Keep the transport from reporting failure for the held snapshot.
  net.Tick(1);
  net.Stabilize();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(net.raft(1).tracker().progress().at(NodeId(3)).state(),
            ProgressState::kSnapshot);
  ASSERT_TRUE(net.Propose(1, "f").ok());
  int appends_to_3 = 0;
  net.set_drop([&](const Message& m) {
    appends_to_3 +=
        m.to() == 3 && m.type() == sluice::internal::raft::MESSAGE_TYPE_APPEND;
    return false;
  });
  net.Stabilize();
  EXPECT_EQ(appends_to_3, 0);
  // The follower's reply to the snapshot moves it back to replicating.
  net.Deliver(held[0]);
  net.Stabilize();
  EXPECT_EQ(net.raft(1).tracker().progress().at(NodeId(3)).state(),
            ProgressState::kReplicate);
  EXPECT_EQ(net.at(3).applied.back(), "f");
}

TEST(SnapshotTest, SnapshotCarriesMembership) {
  TestNetwork net(0);
  for (uint64_t id = 1; id <= 2; ++id) {
    net.AddNode(NodeId(id), Voters({1, 2}, {3}));
  }
  // Node 3 is new: empty log, no membership; it learns it from the snapshot.
  net.AddNode(NodeId(3), ConfState());
  net.Isolate(3);
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.Propose(1, "a").ok());
  net.Stabilize();
  net.SnapshotAndCompact(1);
  net.Heal();
  net.Tick(1);
  net.Stabilize();
  EXPECT_TRUE(net.raft(3).tracker().config().learners.contains(NodeId(3)));
  EXPECT_EQ(net.at(3).applied, std::vector<std::string>{"a"});
  EXPECT_EQ(net.at(3).storage->GetInitialState()->conf_state.learners_size(),
            1);
}

TEST(SnapshotTest, FollowerKeepsEntriesAfterAKnownSnapshotPoint) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  for (const char* d : {"a", "b", "c"}) ASSERT_TRUE(net.Propose(1, d).ok());
  net.Stabilize();
  // A snapshot at index 2, which node 2 already holds: it must not drop its
  // log, only learn that index 2 is committed.
  Message m;
  m.set_type(MESSAGE_TYPE_SNAPSHOT);
  m.set_group(kGroup.value());
  m.set_from(1);
  m.set_to(2);
  m.set_term(net.raft(1).term().value());
  m.mutable_snapshot()->mutable_metadata()->set_index(2);
  m.mutable_snapshot()->mutable_metadata()->set_term(1);
  Index last = net.raft(2).log().LastIndex();
  ASSERT_TRUE(net.node(2).Step(m).ok());
  EXPECT_EQ(net.raft(2).log().LastIndex(), last);
  EXPECT_FALSE(net.raft(2).log().unstable().snapshot().has_value());
}

TEST(SnapshotTest, RestartFromCompactedStorage) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  for (const char* d : {"a", "b"}) ASSERT_TRUE(net.Propose(1, d).ok());
  net.Stabilize();
  net.SnapshotAndCompact(2);
  net.Restart(NodeId(2));
  EXPECT_EQ(net.raft(2).log().FirstIndex(), Index(4));
  EXPECT_EQ(net.raft(2).log().committed(), Index(3));
  ASSERT_TRUE(net.Propose(1, "c").ok());
  net.Tick(1);
  net.Stabilize();
  EXPECT_EQ(net.raft(2).log().committed(), Index(4));
}

// The host is still applying entries of one Ready when a snapshot past them
// arrives: finishing the first Ready must not move applied backwards, and
// the snapshot comes in the next Ready.
TEST(SnapshotTest, SnapshotArrivesWhileReadyIsBeingApplied) {
  TestNetwork net(3);
  RawNode& n = net.node(3);
  Message app;
  app.set_type(sluice::internal::raft::MESSAGE_TYPE_APPEND);
  app.set_group(kGroup.value());
  app.set_from(1);
  app.set_to(3);
  app.set_term(1);
  for (uint64_t i = 1; i <= 2; ++i) {
    Entry* e = app.add_entries();
    e->set_index(i);
    e->set_term(1);
    e->set_data("e");
  }
  app.set_commit(2);
  ASSERT_TRUE(n.Step(app).ok());
  Ready rd = n.GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 2u);

  Message snap;
  snap.set_type(MESSAGE_TYPE_SNAPSHOT);
  snap.set_group(kGroup.value());
  snap.set_from(1);
  snap.set_to(3);
  snap.set_term(1);
  auto* meta = snap.mutable_snapshot()->mutable_metadata();
  meta->set_index(10);
  meta->set_term(1);
  *meta->mutable_conf_state() = Voters({1, 2, 3});
  ASSERT_TRUE(n.Step(snap).ok());

  ASSERT_TRUE(net.at(3).storage->Append(rd.entries).ok());
  n.Advance();
  Ready rd2 = n.GetReady();
  ASSERT_TRUE(rd2.snapshot.has_value());
  EXPECT_EQ(rd2.snapshot->metadata().index(), 10u);
  EXPECT_TRUE(rd2.committed_entries.empty());
  ASSERT_TRUE(net.at(3).storage->ApplySnapshot(*rd2.snapshot).ok());
  n.Advance();
  EXPECT_EQ(n.raft().log().applied(), Index(10));
  EXPECT_EQ(n.raft().log().committed(), Index(10));
  EXPECT_EQ(n.raft().log().LastIndex(), Index(10));
}

}  // namespace
}  // namespace sluice::raft::testing
