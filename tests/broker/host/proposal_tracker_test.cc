#include "broker/host/proposal_tracker.h"

#include <vector>

#include "gtest/gtest.h"

namespace sluice::broker {
namespace {

using raft::Index;
using raft::Term;

struct Outcome {
  bool called = false;
  absl::StatusOr<Applied> result = absl::UnknownError("not called");
};

ProposeCallback Record(Outcome* o) {
  return [o](absl::StatusOr<Applied> r) {
    o->called = true;
    o->result = std::move(r);
  };
}

void RunAll(std::vector<Resolved>& out) {
  for (Resolved& r : out) std::move(r).Run();
  out.clear();
}

TEST(ProposalTrackerTest, AnswersTheMatchingEntryWithItsResult) {
  ProposalTracker t;
  Outcome a;
  t.Add(Index(5), Term(2), Record(&a));
  std::vector<Resolved> out;
  std::any result = 42;
  t.OnApplied(Index(4), Term(2), result, absl::UnavailableError("x"), &out);
  EXPECT_TRUE(out.empty());
  result = 43;
  t.OnApplied(Index(5), Term(2), result, absl::UnavailableError("x"), &out);
  RunAll(out);
  ASSERT_TRUE(a.called);
  ASSERT_TRUE(a.result.ok());
  EXPECT_EQ(a.result->index, Index(5));
  EXPECT_EQ(std::any_cast<int>(a.result->result), 43);
  EXPECT_EQ(t.size(), 0u);
}

// A new leader's entry at our index (another term) is not our proposal: it
// fails, and its result never reaches our callback.
TEST(ProposalTrackerTest, OverwrittenEntryFailsInsteadOfTakingAnotherResult) {
  ProposalTracker t;
  Outcome a;
  Outcome b;
  t.Add(Index(5), Term(2), Record(&a));
  t.Add(Index(6), Term(2), Record(&b));
  std::vector<Resolved> out;
  std::any result = 7;
  t.OnApplied(Index(5), Term(3), result, absl::UnavailableError("lost"), &out);
  RunAll(out);
  ASSERT_TRUE(a.called);
  EXPECT_EQ(a.result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(b.called);
  // Skipping past an index also resolves it.
  t.OnApplied(Index(7), Term(3), result, absl::UnavailableError("lost"), &out);
  RunAll(out);
  ASSERT_TRUE(b.called);
  EXPECT_FALSE(b.result.ok());
}

TEST(ProposalTrackerTest, FailStaleKeepsCurrentTermWhileLeader) {
  ProposalTracker t;
  Outcome old_term;
  Outcome current;
  t.Add(Index(3), Term(1), Record(&old_term));
  t.Add(Index(4), Term(2), Record(&current));
  std::vector<Resolved> out;
  t.FailStale(true, Term(2), absl::UnavailableError("lost"), &out);
  RunAll(out);
  EXPECT_TRUE(old_term.called);
  EXPECT_FALSE(current.called);
  t.FailStale(false, Term(2), absl::UnavailableError("lost"), &out);
  RunAll(out);
  EXPECT_TRUE(current.called);
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace sluice::broker
