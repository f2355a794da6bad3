// GroupLog: the rules of Raft storage on the in-memory shape of a log.
#include "raft/leveldb/group_log.h"

#include <vector>

#include "gtest/gtest.h"
#include "raft/storage/log_storage.h"
#include "tests/raft/leveldb/test_util.h"

namespace sluice::raft::ldb {
namespace {

std::vector<Term> Terms(std::initializer_list<uint64_t> terms) {
  std::vector<Term> out;
  for (uint64_t t : terms) out.push_back(Term(t));
  return out;
}

TEST(GroupLogTest, AppendTracksTermsAndLastIndex) {
  GroupLog log{GroupId(1)};
  auto garbage = log.Append(Index(1), Terms({1, 1, 2, 2, 3}));
  ASSERT_TRUE(garbage.ok());
  EXPECT_TRUE(garbage->empty());
  EXPECT_EQ(log.last_index(), Index(5));
  EXPECT_EQ(*log.TermAt(Index(0)), Term(0));
  EXPECT_EQ(*log.TermAt(Index(2)), Term(1));
  EXPECT_EQ(*log.TermAt(Index(3)), Term(2));
  EXPECT_EQ(*log.TermAt(Index(5)), Term(3));
  EXPECT_TRUE(raft::IsLogUnavailable(log.TermAt(Index(6)).status()));
}

TEST(GroupLogTest, AppendInsideTheLogTruncatesTheConflictingSuffix) {
  GroupLog log{GroupId(1)};
  ASSERT_TRUE(log.Append(Index(1), Terms({1, 1, 1, 1, 1})).ok());
  auto garbage = log.Append(Index(3), Terms({2}));
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(garbage->from, Index(4));
  EXPECT_EQ(garbage->to, Index(5));
  EXPECT_EQ(log.last_index(), Index(3));
  EXPECT_EQ(*log.TermAt(Index(2)), Term(1));
  EXPECT_EQ(*log.TermAt(Index(3)), Term(2));
}

TEST(GroupLogTest, AppendRefusesGapsCompactedIndicesAndFallingTerms) {
  GroupLog log{GroupId(1)};
  ASSERT_TRUE(log.Append(Index(1), Terms({2, 2})).ok());
  EXPECT_EQ(log.Append(Index(4), Terms({2})).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log.Append(Index(3), Terms({1})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log.Append(Index(0), Terms({2})).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log.last_index(), Index(2));
}

TEST(GroupLogTest, CompactionKeepsTheTermOfTheLastCompactedEntry) {
  GroupLog log{GroupId(1)};
  ASSERT_TRUE(log.Append(Index(1), Terms({1, 1, 2, 2, 3, 3})).ok());
  // Only what a snapshot covers may be compacted.
  EXPECT_EQ(log.CompactTo(Index(3)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(log.InstallSnapshot(testing::MakeSnapshot(4, 2)).ok());
  EXPECT_EQ(log.last_index(), Index(6)) << "matching snapshot keeps the log";
  auto dropped = log.CompactTo(Index(3));
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->from, Index(1));
  EXPECT_EQ(dropped->to, Index(3));
  EXPECT_EQ(log.start_index(), Index(3));
  EXPECT_EQ(*log.TermAt(Index(3)), Term(2));
  EXPECT_EQ(*log.TermAt(Index(4)), Term(2));
  EXPECT_EQ(*log.TermAt(Index(5)), Term(3));
  EXPECT_TRUE(IsCompacted(log.TermAt(Index(2)).status()));
  EXPECT_TRUE(log.CompactTo(Index(2))->empty()) << "already compacted";
}

TEST(GroupLogTest, MismatchingSnapshotReplacesTheLog) {
  GroupLog log{GroupId(1)};
  ASSERT_TRUE(log.Append(Index(1), Terms({1, 1, 1})).ok());
  auto discarded = log.InstallSnapshot(testing::MakeSnapshot(10, 4));
  ASSERT_TRUE(discarded.ok());
  EXPECT_EQ(discarded->from, Index(1));
  EXPECT_EQ(discarded->to, Index(3));
  EXPECT_EQ(log.start_index(), Index(10));
  EXPECT_EQ(log.last_index(), Index(10));
  EXPECT_EQ(*log.TermAt(Index(10)), Term(4));
  EXPECT_EQ(log.InstallSnapshot(testing::MakeSnapshot(9, 4)).status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "an older snapshot is refused";
  ASSERT_TRUE(log.Append(Index(11), Terms({4, 5})).ok());
  EXPECT_EQ(*log.TermAt(Index(12)), Term(5));
}

}  // namespace
}  // namespace sluice::raft::ldb
