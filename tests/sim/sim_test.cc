// Tests of the simulation itself: a seed replays exactly, seeds differ, and
// the invariant checker catches planted violations.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/sim/invariants.h"
#include "tests/sim/simulator.h"

namespace sluice::sim {
namespace {

using ::testing::HasSubstr;

SimOptions Short(uint64_t seed, bool trace = false) {
  SimOptions options;
  options.seed = seed;
  options.fault_phase = 3'000'000;
  options.record_trace = trace;
  return options;
}

TEST(SimulatorTest, SameSeedReplaysTheSameTrace) {
  SimResult a = Simulator(Short(7, true)).Run();
  SimResult b = Simulator(Short(7, true)).Run();
  ASSERT_TRUE(a.ok) << a.failure;
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.trace, b.trace);
  EXPECT_GT(a.stats.events, 1000u);
  EXPECT_GT(a.stats.committed, 10u);
}

TEST(SimulatorTest, DifferentSeedsTakeDifferentPaths) {
  SimResult a = Simulator(Short(1)).Run();
  SimResult b = Simulator(Short(2)).Run();
  EXPECT_NE(a.trace_hash, b.trace_hash);
}

// Quiescence under the same faults: groups do go quiet, nodes do find
// silent peers, and every run stays safe and live.
TEST(SimulatorTest, QuiescingGroupsStayLiveAndSafe) {
  uint64_t quiesces = 0, peers_down = 0;
  for (uint64_t seed = 21; seed < 31; ++seed) {
    SimOptions options = Short(seed);
    options.quiesce = true;
    SimResult result = Simulator(options).Run();
    EXPECT_TRUE(result.ok) << "seed " << seed << ": " << result.failure;
    quiesces += result.stats.quiesces;
    peers_down += result.stats.peers_down;
  }
  EXPECT_GT(quiesces, 10u);
  EXPECT_GT(peers_down, 10u);
}

TEST(SimulatorTest, FiveVotersWithFaultsStayLiveAndSafe) {
  SimOptions options = Short(11);
  options.voters = 5;
  SimResult result = Simulator(options).Run();
  EXPECT_TRUE(result.ok) << result.failure;
}

sluice::internal::raft::Entry MakeEntry(uint64_t index, uint64_t term,
                                        const std::string& data) {
  sluice::internal::raft::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(data);
  return e;
}

TEST(InvariantCheckerTest, CatchesDivergentApply) {
  InvariantChecker checker;
  checker.ObserveApplied(1, MakeEntry(1, 1, "a"), 100);
  checker.ObserveApplied(2, MakeEntry(1, 1, "a"), 100);
  EXPECT_TRUE(checker.ok());
  checker.ObserveApplied(3, MakeEntry(1, 2, "b"), 200);
  ASSERT_FALSE(checker.ok());
  EXPECT_THAT(checker.violation(), HasSubstr("State Machine Safety"));
}

TEST(InvariantCheckerTest, CatchesTwoEntriesWithOneIndexAndTerm) {
  InvariantChecker checker;
  checker.ObservePersisted(1, {MakeEntry(5, 2, "x")});
  checker.ObservePersisted(2, {MakeEntry(5, 2, "y")});
  ASSERT_FALSE(checker.ok());
  EXPECT_THAT(checker.violation(), HasSubstr("Log Matching"));
}

TEST(InvariantCheckerTest, CatchesSnapshotThatDiffersFromLog) {
  InvariantChecker checker;
  checker.ObserveApplied(1, MakeEntry(1, 1, "a"), 100);
  checker.ObserveSnapshot(2, 1, 999);
  ASSERT_FALSE(checker.ok());
  EXPECT_THAT(checker.violation(), HasSubstr("snapshot"));
}

TEST(InvariantCheckerTest, CatchesApplyGap) {
  InvariantChecker checker;
  checker.ObserveApplied(1, MakeEntry(2, 1, "a"), 100);
  EXPECT_FALSE(checker.ok());
}

}  // namespace
}  // namespace sluice::sim
