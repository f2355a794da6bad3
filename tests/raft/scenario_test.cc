// Scenario tests for the classic Raft traps, driven message by message through
// a TestNetwork. Each test reads as a script: the comments name the step, the
// assertions say what must hold after it.
#include "gtest/gtest.h"
#include "tests/raft/test_network.h"

namespace sluice::raft::testing {
namespace {

using sluice::internal::raft::CONF_CHANGE_TYPE_REMOVE;
using sluice::internal::raft::MESSAGE_TYPE_APPEND;
using sluice::internal::raft::MESSAGE_TYPE_SNAPSHOT;

Term TermAt(TestNetwork& net, uint64_t id, uint64_t index) {
  return net.raft(id).log().TermOrZero(Index(index));
}

bool AppliedEntry(TestNetwork& net, uint64_t id, uint64_t index,
                  uint64_t term) {
  for (const Entry& e : net.at(id).applied_entries) {
    if (e.index() == index && e.term() == term) return true;
  }
  return false;
}

// Delivers queued messages round by round. Appends from `leader` lose their
// entries of `strip_term` (as if the leader had not appended them yet when it
// sent), and appends from `leader` to `drop_to` are lost.
void Pump(TestNetwork& net, uint64_t leader, uint64_t strip_term,
          uint64_t drop_to) {
  for (int round = 0; round < 100; ++round) {
    net.ProcessAllReadies();
    if (net.queue().empty()) return;
    std::vector<Message> batch = net.Take([](const Message&) { return true; });
    for (Message& m : batch) {
      if (m.type() == MESSAGE_TYPE_APPEND && m.from() == leader) {
        if (m.to() == drop_to) continue;
        auto* entries = m.mutable_entries();
        for (int i = entries->size() - 1; i >= 0; --i) {
          if (entries->Get(i).term() == strip_term)
            entries->DeleteSubrange(i, 1);
        }
      }
      net.Deliver(m);
    }
  }
}

void Figure8Config(Config& c) {
  c.pre_vote = false;
  c.check_quorum = false;
  c.max_size_per_msg = 1;  // one entry per APPEND
}

// Raft paper, Figure 8, steps (a) to (c), with our leaders' no-op entries
// playing the paper's entries: index 1 here is the paper's index 2.
void Figure8ToStepC(TestNetwork& net) {
  // (a) S1 leads term 1 and gets its entry (1, t1) to S2 only.
  net.set_drop([](const Message& m) {
    return m.type() == MESSAGE_TYPE_APPEND && m.from() == 1 && m.to() != 2;
  });
  ASSERT_TRUE(net.Elect(1));
  ASSERT_EQ(net.raft(1).term(), Term(1));
  ASSERT_EQ(TermAt(net, 2, 1), Term(1));
  ASSERT_EQ(net.raft(3).log().LastIndex(), Index(0));
  ASSERT_EQ(net.raft(1).log().committed(), Index(0));

  // (b) S1 crashes. S5 wins term 2 with votes from S3 and S4 and appends
  // (1, t2), which reaches nobody.
  net.Isolate(1);
  net.set_drop([](const Message& m) {
    return m.type() == MESSAGE_TYPE_APPEND && m.from() == 5;
  });
  ASSERT_TRUE(net.Elect(5));
  ASSERT_EQ(net.raft(5).term(), Term(2));
  ASSERT_EQ(TermAt(net, 5, 1), Term(2));

  // (c) S5 crashes, S1 restarts and wins term 3 (S3 and S4 voted in term 2
  // already, so its first try at term 2 fails). It replicates (1, t1) to S3,
  // so (1, t1) is on S1, S2, S3: a majority. Its own (2, t3) reaches nobody.
  net.set_drop(nullptr);
  net.Heal();
  net.Isolate(5);
  net.Restart(NodeId(1));
  net.node(1).Campaign();
  Pump(net, 1, 3, 4);
  if (net.raft(1).role() != Role::kLeader) {
    net.node(1).Campaign();
    Pump(net, 1, 3, 4);
  }
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_EQ(net.raft(1).term(), Term(3));
  ASSERT_EQ(TermAt(net, 1, 2), Term(3));
  for (uint64_t id : {1, 2, 3}) ASSERT_EQ(TermAt(net, id, 1), Term(1)) << id;
  const auto& progress = net.raft(1).tracker().progress();
  ASSERT_EQ(progress.at(NodeId(2)).match(), Index(1));
  ASSERT_EQ(progress.at(NodeId(3)).match(), Index(1));
  // The rule (thesis §3.6.2): (1, t1) is on a majority but is not from the
  // current term, so counting replicas must not commit it.
  EXPECT_EQ(net.raft(1).log().committed(), Index(0));
}

TEST(ScenarioTest, Figure8OldTermEntryOnMajorityIsNotCommitted) {
  TestNetwork net(5, Figure8Config);
  Figure8ToStepC(net);
  if (HasFatalFailure()) return;

  // (d) S1 crashes again. S5 restarts and wins term 4 with S2, S3, S4 (its
  // last term 2 beats their 1) and overwrites (1, t1) with its (1, t2).
  net.Heal();
  net.Isolate(1);
  net.Restart(NodeId(5));
  net.node(5).Campaign();
  net.Stabilize();
  if (net.raft(5).role() != Role::kLeader) {
    net.node(5).Campaign();
    net.Stabilize();
  }
  ASSERT_EQ(net.raft(5).role(), Role::kLeader);
  for (uint64_t id : {2, 3, 4, 5}) {
    EXPECT_EQ(TermAt(net, id, 1), Term(2)) << id;
    EXPECT_GE(net.raft(id).log().committed(), Index(2)) << id;
    // Had S1 committed (1, t1) in (c), this would be a lost committed entry.
    EXPECT_FALSE(AppliedEntry(net, id, 1, 1)) << id;
    EXPECT_TRUE(AppliedEntry(net, id, 1, 2)) << id;
  }
  EXPECT_FALSE(AppliedEntry(net, 1, 1, 1));
}

TEST(ScenarioTest, Figure8CurrentTermEntryCommitsEarlierOnesIndirectly) {
  TestNetwork net(5, Figure8Config);
  Figure8ToStepC(net);
  if (HasFatalFailure()) return;

  // (e) Instead, S1 gets (2, t3) to S2 and S3 before crashing: counting now
  // commits index 2, and index 1 with it.
  net.Tick(1);  // heartbeat; the responses make S1 resend what was lost
  Pump(net, 1, 0, 4);
  EXPECT_EQ(net.raft(1).log().committed(), Index(2));
  // S1 crashes; S5 cannot win: S2 and S3 hold a newer last term.
  net.Heal();
  net.Isolate(1);
  net.Restart(NodeId(5));
  for (int i = 0; i < 3; ++i) {
    net.node(5).Campaign();
    net.Stabilize();
  }
  EXPECT_NE(net.raft(5).role(), Role::kLeader);
  for (uint64_t id : {2, 3}) {
    EXPECT_EQ(TermAt(net, id, 1), Term(1));
    EXPECT_EQ(TermAt(net, id, 2), Term(3));
  }
}

// Thesis §9.6: a node cut off from the others keeps timing out; when it
// returns, it must not make the healthy leader step down.
TEST(ScenarioTest, PartitionedNodeRejoiningDoesNotDeposeHealthyLeader) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  const Term term = net.raft(1).term();
  net.Isolate(3);
  for (int i = 0; i < 100; ++i) {
    net.TickAll();
    net.Stabilize();
  }
  ASSERT_TRUE(net.Propose(1, "during").ok());
  net.Stabilize();
  EXPECT_EQ(net.raft(3).term(), term);  // pre-vote never raised it
  net.Heal();
  for (int i = 0; i < 100; ++i) {
    net.TickAll();
    net.Stabilize();
  }
  EXPECT_EQ(net.raft(1).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).term(), term);
  EXPECT_EQ(net.raft(3).lead(), NodeId(1));
  EXPECT_EQ(net.at(3).applied, std::vector<std::string>{"during"});
}

// A leader cut off in a minority keeps accepting proposals but can never
// commit them; after the partition heals they are discarded everywhere.
TEST(ScenarioTest, StaleLeaderCannotCommit) {
  TestNetwork net(5, [](Config& c) { c.check_quorum = false; });
  ASSERT_TRUE(net.Elect(1));
  net.Cut(1, 3);
  net.Cut(1, 4);
  net.Cut(1, 5);
  net.Cut(2, 3);
  net.Cut(2, 4);
  net.Cut(2, 5);
  // The majority side elects 3 (it has not heard from 1 for a while).
  uint64_t fresh = 0;
  for (int i = 0; i < 100 && fresh == 0; ++i) {
    for (uint64_t id : {3, 4, 5}) net.Tick(id);
    net.Stabilize();
    for (uint64_t id : {3, 4, 5}) {
      if (net.raft(id).role() == Role::kLeader) fresh = id;
    }
  }
  ASSERT_NE(fresh, 0u);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);  // stale, does not know
  ASSERT_TRUE(net.Propose(1, "stale").ok());
  ASSERT_TRUE(net.Propose(fresh, "fresh").ok());
  net.Stabilize();
  EXPECT_EQ(net.raft(1).log().committed(), Index(1));
  EXPECT_TRUE(net.at(1).applied.empty());
  EXPECT_TRUE(net.at(2).applied.empty());
  EXPECT_EQ(net.at(fresh).applied, std::vector<std::string>{"fresh"});
  net.Heal();
  net.Tick(fresh);
  net.Stabilize();
  EXPECT_NE(net.raft(1).role(), Role::kLeader);
  for (uint64_t id = 1; id <= 5; ++id) {
    EXPECT_EQ(net.at(id).applied, std::vector<std::string>{"fresh"}) << id;
  }
}

// Thesis §3.8: term and vote are persisted before the vote is sent, and a
// restarted node keeps them: it cannot vote twice in one term.
TEST(ScenarioTest, VotesAndTermsSurviveRestart) {
  TestNetwork net(3, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  ASSERT_TRUE(net.Elect(1));
  ASSERT_TRUE(net.Propose(1, "a").ok());
  net.Stabilize();
  // 2 votes for 3 in term 2; 3's election is then lost in the network.
  net.Isolate(1);
  net.node(3).Campaign();
  net.ProcessReady(NodeId(3));
  auto votes = net.Take([](const Message& m) { return m.to() == 2; });
  ASSERT_EQ(votes.size(), 1u);
  net.Deliver(votes[0]);
  net.ProcessReady(NodeId(2));
  net.queue().clear();
  ASSERT_EQ(net.raft(2).vote(), NodeId(3));

  net.Restart(NodeId(2));
  EXPECT_EQ(net.raft(2).term(), Term(2));
  EXPECT_EQ(net.raft(2).vote(), NodeId(3));
  EXPECT_EQ(net.raft(2).log().committed(), Index(2));
  EXPECT_EQ(net.raft(2).log().LastIndex(), Index(2));

  // 1 now asks 2 for its vote in the same term 2: refused.
  net.Heal();
  net.Isolate(3);
  Message req;
  req.set_type(sluice::internal::raft::MESSAGE_TYPE_VOTE);
  req.set_group(kGroup.value());
  req.set_from(1);
  req.set_to(2);
  req.set_term(2);
  req.set_index(2);
  req.set_log_term(1);
  ASSERT_TRUE(net.node(2).Step(req).ok());
  Ready rd = net.node(2).GetReady();
  ASSERT_EQ(rd.messages_after_persist.size(), 1u);
  EXPECT_TRUE(rd.messages_after_persist[0].reject());
  net.node(2).Advance();
}

// A lagging follower gets a snapshot while appends to it are still in the
// network; whatever order they arrive in, its log ends up consistent and
// its commit index never goes back.
TEST(ScenarioTest, SnapshotArrivingWhileEntriesInFlight) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  net.Heal();
  // Appends to 3 go out and are held in the network.
  net.Tick(1);
  for (int i = 0; i < 4; ++i) {
    net.ProcessAllReadies();
    std::vector<Message> to3 = net.Take([](const Message& m) {
      return m.to() == 3 && m.type() == MESSAGE_TYPE_APPEND;
    });
    net.DeliverQueued();
    for (Message& m : to3) net.queue().push_back(m);  // keep holding them
    if (!to3.empty()) break;
  }
  std::vector<Message> held = net.Take([](const Message& m) {
    return m.to() == 3 && m.type() == MESSAGE_TYPE_APPEND;
  });
  ASSERT_FALSE(held.empty());
  // The leader compacts everything it applied, then learns 3 needs a
  // snapshot (we force the probe path by reporting 3 unreachable).
  TestNode& leader = net.at(1);
  Index applied = leader.applied_index;
  net.SnapshotAndCompact(1);
  net.node(1).ReportUnreachable(NodeId(3));
  // Resend: the progress is in probe at match+1, which is compacted.
  net.Take([](const Message& m) { return m.to() == 3; });
  net.Tick(1);
  std::vector<Message> snaps;
  for (int i = 0; i < 4 && snaps.empty(); ++i) {
    net.ProcessAllReadies();
    snaps = net.Take(OfType(MESSAGE_TYPE_SNAPSHOT, 3));
    net.DeliverQueued();
  }
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(net.raft(1).tracker().progress().at(NodeId(3)).state(),
            ProgressState::kSnapshot);
  net.Deliver(snaps[0]);  // the transport attaches the data
  net.ProcessReady(NodeId(3));
  EXPECT_EQ(net.raft(3).log().committed(), applied);
  // The old appends arrive after the snapshot: harmless.
  for (const Message& m : held) net.Deliver(m);
  net.node(1).ReportSnapshot(NodeId(3), true);
  net.Stabilize();
  EXPECT_EQ(net.raft(3).log().committed(), applied);
  // Later entries flow normally.
  ASSERT_TRUE(net.Propose(1, "after").ok());
  net.Tick(1);
  net.Stabilize();
  EXPECT_EQ(net.raft(3).log().committed(), net.raft(1).log().committed());
  EXPECT_EQ(net.at(3).applied, net.at(1).applied);
  EXPECT_EQ(net.at(3).applied.back(), "after");
  EXPECT_EQ(net.at(3).storage->snapshot().data(), "x;x;x;x;x;");
  // A stale snapshot (older than the commit index) is ignored.
  net.Deliver(snaps[0]);
  net.ProcessReady(NodeId(3));
  EXPECT_EQ(net.raft(3).log().committed(), net.raft(1).log().committed());
}

// Thesis §4.2.2: the leader can be removed; it keeps leading until the change
// commits, then steps down, and the rest elect a new leader.
TEST(ScenarioTest, RemovingTheLeader) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  ConfChange cc;
  auto* ch = cc.add_changes();
  ch->set_type(CONF_CHANGE_TYPE_REMOVE);
  ch->set_node_id(1);
  ASSERT_TRUE(net.node(1).ProposeConfChange(cc).ok());
  net.Stabilize();
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_FALSE(net.raft(2).tracker().config().IsMember(NodeId(1)));
  // 2 and 3 elect a new leader after a timeout; 1 never campaigns.
  for (int i = 0; i < 50 && net.Leader() == kNoNode; ++i) {
    net.TickAll();
    net.Stabilize();
  }
  NodeId leader = net.Leader();
  ASSERT_TRUE(leader == NodeId(2) || leader == NodeId(3));
  ASSERT_TRUE(net.Propose(leader.value(), "after").ok());
  net.Stabilize();
  EXPECT_EQ(net.at(2).applied, std::vector<std::string>{"after"});
  EXPECT_EQ(net.at(3).applied, std::vector<std::string>{"after"});
  EXPECT_NE(net.raft(1).role(), Role::kLeader);
}

// Thesis §3.10: transfer to a follower that lags: the leader refuses
// proposals, catches the target up, then sends TimeoutNow.
TEST(ScenarioTest, TransferToLaggingNode) {
  TestNetwork net(3);
  ASSERT_TRUE(net.Elect(1));
  net.Isolate(3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.Propose(1, "x").ok());
  net.Stabilize();
  net.Heal();
  ASSERT_LT(net.raft(3).log().LastIndex(), net.raft(1).log().LastIndex());
  ASSERT_TRUE(net.node(1).TransferLeadership(NodeId(3)).ok());
  absl::Status s = net.Propose(1, "refused");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  net.Tick(1);  // heartbeat resumes replication to 3
  net.Stabilize();
  EXPECT_EQ(net.raft(3).role(), Role::kLeader);
  EXPECT_EQ(net.raft(1).lead(), NodeId(3));
  EXPECT_EQ(net.at(3).applied.size(), 10u);
  ASSERT_TRUE(net.Propose(3, "new leader").ok());
  net.Stabilize();
  EXPECT_EQ(net.at(1).applied.back(), "new leader");
}

}  // namespace
}  // namespace sluice::raft::testing
