#include "raft/core/raft_log.h"

#include "gtest/gtest.h"
#include "raft/storage/memory_storage.h"

namespace sluice::raft {
namespace {

using sluice::internal::raft::Entry;

Entry E(uint64_t index, uint64_t term) {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data("d");
  return e;
}

TEST(RaftLogTest, UnstableOverStorage) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append({E(1, 1), E(2, 1)}).ok());
  RaftLog log(&s, GroupId(1), Index(0));
  EXPECT_EQ(log.LastIndex(), Index(2));
  log.Append({E(3, 2), E(4, 2)});
  EXPECT_EQ(log.LastIndex(), Index(4));
  EXPECT_EQ(log.TermOrZero(Index(3)), Term(2));
  EXPECT_EQ(log.DurableLastIndex(), Index(2));
  auto all = log.Slice(Index(1), Index(5), 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 4u);
  log.unstable().StableTo(Index(4), Term(2));
  EXPECT_EQ(log.DurableLastIndex(), Index(4));
}

TEST(RaftLogTest, StableToIgnoresOverwrittenEntry) {
  MemoryStorage s;
  RaftLog log(&s, GroupId(1), Index(0));
  log.Append({E(1, 1), E(2, 1)});
  log.unstable().AcceptInProgress();
  log.Append({E(2, 3)});  // overwrites index 2 while it was being written
  log.unstable().StableTo(Index(2), Term(1));
  EXPECT_EQ(log.DurableLastIndex(), Index(0));
  EXPECT_EQ(log.unstable().NextEntries().size(), 1u);
}

TEST(RaftLogTest, MaybeAppendFindsConflictsAndCommits) {
  MemoryStorage s;
  RaftLog log(&s, GroupId(1), Index(0));
  log.Append({E(1, 1), E(2, 1), E(3, 1)});
  // Mismatch at prev.
  EXPECT_FALSE(log.MaybeAppend(Index(3), Term(2), Index(0), {}).has_value());
  // Conflict at 3: replaced.
  auto last = log.MaybeAppend(Index(2), Term(1), Index(3), {E(3, 2), E(4, 2)});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, Index(4));
  EXPECT_EQ(log.TermOrZero(Index(3)), Term(2));
  EXPECT_EQ(log.committed(), Index(3));
  // Duplicate of existing entries changes nothing.
  EXPECT_TRUE(log.MaybeAppend(Index(1), Term(1), Index(3), {E(2, 1)}));
  EXPECT_EQ(log.LastIndex(), Index(4));
}

TEST(RaftLogTest, CommitOnlyCurrentTermByCounting) {
  MemoryStorage s;
  RaftLog log(&s, GroupId(1), Index(0));
  log.Append({E(1, 1), E(2, 2)});
  EXPECT_FALSE(log.MaybeCommit(Index(1), Term(2)));
  EXPECT_TRUE(log.MaybeCommit(Index(2), Term(2)));
  EXPECT_EQ(log.committed(), Index(2));
}

TEST(RaftLogTest, FindConflictByTerm) {
  MemoryStorage s;
  RaftLog log(&s, GroupId(1), Index(0));
  log.Append({E(1, 1), E(2, 1), E(3, 4), E(4, 4), E(5, 5)});
  EXPECT_EQ(log.FindConflictByTerm(Index(5), Term(3)).first, Index(2));
  EXPECT_EQ(log.FindConflictByTerm(Index(5), Term(4)).first, Index(4));
  EXPECT_EQ(log.FindConflictByTerm(Index(5), Term(9)).first, Index(5));
}

TEST(RaftLogTest, CommittedEntriesHandedOutOnce) {
  MemoryStorage s;
  RaftLog log(&s, GroupId(1), Index(0));
  log.Append({E(1, 1), E(2, 1)});
  log.CommitTo(Index(2));
  EXPECT_EQ(log.NextCommittedEntries(0).size(), 2u);
  log.AcceptApplying(Index(2));
  EXPECT_FALSE(log.HasNextCommittedEntries());
  log.AppliedTo(Index(2));
  EXPECT_EQ(log.applied(), Index(2));
}

TEST(RaftLogDeathTest, OverwritingCommittedEntryCrashes) {
  MemoryStorage s;
  RaftLog log(&s, GroupId(9), Index(0));
  log.Append({E(1, 1), E(2, 1)});
  log.CommitTo(Index(2));
  EXPECT_DEATH(log.MaybeAppend(Index(1), Term(1), Index(2), {E(2, 2)}),
               "group=9 index=2");
}

}  // namespace
}  // namespace sluice::raft
