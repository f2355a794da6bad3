#include "raft/storage/memory_storage.h"

#include "gtest/gtest.h"

namespace sluice::raft {
namespace {

using sluice::internal::raft::Entry;

Entry E(uint64_t index, uint64_t term, std::string data = "x") {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::move(data));
  return e;
}

TEST(MemoryStorageTest, AppendTruncatesConflictingSuffix) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append({E(1, 1), E(2, 1), E(3, 1)}).ok());
  ASSERT_TRUE(s.Append({E(2, 2)}).ok());
  EXPECT_EQ(s.LastIndex(), Index(2));
  EXPECT_EQ(*s.TermAt(Index(2)), Term(2));
  EXPECT_FALSE(s.Append({E(5, 2)}).ok());  // gap
}

TEST(MemoryStorageTest, EntriesHonoursByteLimitButReturnsOne) {
  MemoryStorage s;
  ASSERT_TRUE(
      s.Append({E(1, 1, "aaaa"), E(2, 1, "bbbb"), E(3, 1, "cccc")}).ok());
  auto one = s.Entries(Index(1), Index(4), 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  auto all = s.Entries(Index(1), Index(4), UINT64_MAX);
  EXPECT_EQ(all->size(), 3u);
  EXPECT_TRUE(sluice::raft::IsLogUnavailable(
      s.Entries(Index(1), Index(5), 100).status()));
}

TEST(MemoryStorageTest, CompactAndSnapshot) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append({E(1, 1), E(2, 1), E(3, 2), E(4, 2)}).ok());
  ASSERT_TRUE(s.CreateSnapshot(Index(3), {}, "state").ok());
  ASSERT_TRUE(s.Compact(Index(3)).ok());
  EXPECT_EQ(s.FirstIndex(), Index(4));
  EXPECT_EQ(*s.TermAt(Index(3)), Term(2));
  EXPECT_TRUE(IsCompacted(s.TermAt(Index(2)).status()));
  EXPECT_TRUE(IsCompacted(s.Entries(Index(3), Index(5), 100).status()));
  EXPECT_EQ(s.SnapshotMetadata()->index(), 3u);
  EXPECT_TRUE(IsCompacted(s.Compact(Index(2))));
}

TEST(MemoryStorageTest, ApplySnapshotReplacesLog) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append({E(1, 1), E(2, 1)}).ok());
  sluice::internal::raft::Snapshot snap;
  snap.mutable_metadata()->set_index(10);
  snap.mutable_metadata()->set_term(3);
  snap.mutable_metadata()->mutable_conf_state()->add_voters(1);
  ASSERT_TRUE(s.ApplySnapshot(snap).ok());
  EXPECT_EQ(s.FirstIndex(), Index(11));
  EXPECT_EQ(s.LastIndex(), Index(10));
  EXPECT_EQ(*s.TermAt(Index(10)), Term(3));
  EXPECT_EQ(s.GetInitialState()->conf_state.voters_size(), 1);
  snap.mutable_metadata()->set_index(5);
  EXPECT_FALSE(s.ApplySnapshot(snap).ok());
}

}  // namespace
}  // namespace sluice::raft
