// RaftDb through its writer and LogStorage: round trips, many groups,
// truncation, compaction, snapshots, the state machine's extra writes.
#include "raft/leveldb/raft_db.h"

#include <string>

#include "gtest/gtest.h"
#include "raft/leveldb/keys.h"
#include "raft/storage/log_storage.h"
#include "tests/raft/leveldb/test_util.h"

namespace sluice::raft {
namespace {

using testing::Append;
using testing::MakeEntries;
using testing::MakeEntry;
using testing::MakeHardState;
using testing::MakeSnapshot;
using testing::TempDir;
using testing::TermsOf;
using testing::Write;

class RaftDbTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = testing::OpenDb(dir_); }
  StorageWriter& writer() { return db_->writer(); }
  LevelDbLogStorage& storage(uint64_t group) {
    return db_->Storage(GroupId(group));
  }

  TempDir dir_;
  std::unique_ptr<RaftDb> db_;
};

TEST_F(RaftDbTest, EmptyGroup) {
  const LogStorage& s = storage(1);
  EXPECT_EQ(s.FirstIndex(), Index(1));
  EXPECT_EQ(s.LastIndex(), Index(0));
  EXPECT_EQ(*s.TermAt(Index(0)), Term(0));
  EXPECT_TRUE(raft::IsLogUnavailable(s.TermAt(Index(1)).status()));
  auto initial = s.GetInitialState();
  ASSERT_TRUE(initial.ok());
  EXPECT_EQ(initial->hard_state.term(), 0u);
  EXPECT_TRUE(db_->Groups().empty());
}

TEST_F(RaftDbTest, EntriesAndHardStateRoundTrip) {
  GroupWrite write;
  write.group = GroupId(3);
  write.entries = {MakeEntry(1, 1, "a"), MakeEntry(2, 1, "bb"),
                   MakeEntry(3, 2, "ccc")};
  write.hard_state = MakeHardState(2, 1, 2);
  ASSERT_TRUE(Write(writer(), std::move(write)).ok());

  const LogStorage& s = storage(3);
  EXPECT_EQ(s.FirstIndex(), Index(1));
  EXPECT_EQ(s.LastIndex(), Index(3));
  EXPECT_EQ(*s.TermAt(Index(3)), Term(2));
  auto entries = s.Entries(Index(1), Index(4), UINT64_MAX);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[1].data(), "bb");
  EXPECT_EQ((*entries)[2].term(), 2u);
  auto initial = s.GetInitialState();
  ASSERT_TRUE(initial.ok());
  EXPECT_EQ(initial->hard_state.vote(), 1u);
  EXPECT_EQ(initial->hard_state.commit(), 2u);
  EXPECT_EQ(db_->Groups(), std::vector<GroupId>{GroupId(3)});
}

TEST_F(RaftDbTest, EntriesHonoursBoundsAndMaxBytes) {
  ASSERT_TRUE(Append(writer(), 1, MakeEntries(1, 10, 1)).ok());
  const LogStorage& s = storage(1);
  EXPECT_TRUE(
      raft::IsLogUnavailable(s.Entries(Index(5), Index(12), 1000).status()));
  EXPECT_TRUE(IsCompacted(s.Entries(Index(0), Index(2), 1000).status()));
  auto one = s.Entries(Index(2), Index(10), 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u) << "at least one entry, even over max_bytes";
  const uint64_t size = MakeEntry(2, 1).ByteSizeLong();
  auto three = s.Entries(Index(2), Index(10), 3 * size + size / 2);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->size(), 3u);
  auto none = s.Entries(Index(4), Index(4), 1000);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(RaftDbTest, ManyGroupsInterleaved) {
  constexpr int kGroups = 20;
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    WriteRequest request;
    for (int g = 1; g <= kGroups; ++g) {
      GroupWrite write;
      write.group = GroupId(g);
      // Group g gets g entries per round, with term = round + 1.
      const uint64_t first = round * g + 1;
      write.entries = MakeEntries(first, first + g - 1, round + 1);
      write.hard_state = MakeHardState(round + 1, g % 3, first);
      request.groups.push_back(std::move(write));
    }
    ASSERT_TRUE(Write(writer(), std::move(request)).ok());
  }
  ASSERT_EQ(db_->Groups().size(), static_cast<size_t>(kGroups));
  for (int g = 1; g <= kGroups; ++g) {
    const LogStorage& s = storage(g);
    ASSERT_EQ(s.LastIndex(), Index(kRounds * g)) << "group " << g;
    auto entries = s.Entries(Index(1), Index(kRounds * g + 1), UINT64_MAX);
    ASSERT_TRUE(entries.ok()) << entries.status();
    for (int i = 0; i < kRounds * g; ++i) {
      const auto& entry = (*entries)[i];
      EXPECT_EQ(entry.index(), static_cast<uint64_t>(i + 1));
      EXPECT_EQ(entry.term(), static_cast<uint64_t>(i / g + 1));
      EXPECT_EQ(entry.data(), MakeEntry(i + 1, i / g + 1).data());
    }
  }
}

TEST_F(RaftDbTest, AppendTruncatesTheConflictingSuffix) {
  ASSERT_TRUE(Append(writer(), 1, MakeEntries(1, 6, 1)).ok());
  ASSERT_TRUE(Append(writer(), 1, MakeEntries(4, 4, 2)).ok());
  const LogStorage& s = storage(1);
  EXPECT_EQ(s.LastIndex(), Index(4));
  EXPECT_EQ(TermsOf(s, 1, 5), (std::vector<uint64_t>{1, 1, 1, 2}));
  EXPECT_TRUE(raft::IsLogUnavailable(s.TermAt(Index(5)).status()));
  // The old entries 5 and 6 are gone from the DB, not just hidden.
  std::string value;
  EXPECT_TRUE(db_->db()
                  ->Get(leveldb::ReadOptions(),
                        ldb::EntryKey(GroupId(1), Index(5)), &value)
                  .IsNotFound());
}

TEST_F(RaftDbTest, AppendWithAGapIsRefusedAndWritesNothing) {
  ASSERT_TRUE(Append(writer(), 1, MakeEntries(1, 3, 1)).ok());
  WriteRequest request;
  GroupWrite good;
  good.group = GroupId(2);
  good.entries = MakeEntries(1, 1, 1);
  GroupWrite gap;
  gap.group = GroupId(1);
  gap.entries = MakeEntries(5, 5, 1);
  request.groups.push_back(std::move(good));
  request.groups.push_back(std::move(gap));
  request.extra.Put(ldb::StateMachinePrefix(GroupId(1)) + "k", "v");
  EXPECT_EQ(Write(writer(), std::move(request)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage(2).LastIndex(), Index(0)) << "the request is atomic";
  std::string value;
  EXPECT_TRUE(db_->db()
                  ->Get(leveldb::ReadOptions(),
                        ldb::StateMachinePrefix(GroupId(1)) + "k", &value)
                  .IsNotFound());
  // Entries out of order within one request are malformed.
  GroupWrite shuffled;
  shuffled.group = GroupId(1);
  shuffled.entries = {MakeEntry(4, 1), MakeEntry(6, 1)};
  EXPECT_EQ(Write(writer(), std::move(shuffled)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(storage(1).LastIndex(), Index(3));
}

TEST_F(RaftDbTest, CompactionDropsThePrefixCoveredByASnapshot) {
  ASSERT_TRUE(Append(writer(), 1, MakeEntries(1, 10, 1)).ok());
  GroupWrite too_far;
  too_far.group = GroupId(1);
  too_far.compact_to = Index(5);
  EXPECT_EQ(Write(writer(), std::move(too_far)).code(),
            absl::StatusCode::kFailedPrecondition)
      << "no snapshot covers index 5 yet";

  GroupWrite compact;
  compact.group = GroupId(1);
  compact.snapshot = MakeSnapshot(7, 1);
  compact.compact_to = Index(5);
  ASSERT_TRUE(Write(writer(), std::move(compact)).ok());
  const LogStorage& s = storage(1);
  EXPECT_EQ(s.FirstIndex(), Index(6));
  EXPECT_EQ(s.LastIndex(), Index(10));
  EXPECT_EQ(*s.TermAt(Index(5)), Term(1));
  EXPECT_TRUE(IsCompacted(s.TermAt(Index(4)).status()));
  EXPECT_TRUE(IsCompacted(s.Entries(Index(5), Index(7), 100).status()));
  EXPECT_EQ(TermsOf(s, 6, 11).size(), 5u);
  EXPECT_EQ(s.SnapshotMetadata()->index(), 7u);
  // The compacted records are deleted from the DB.
  std::unique_ptr<leveldb::Iterator> it(
      db_->db()->NewIterator(leveldb::ReadOptions()));
  int stored = 0;
  for (it->Seek(ldb::EntryKey(GroupId(1), Index(0)));
       it->Valid() && it->key().starts_with(ldb::RaftGroupBegin(GroupId(1)));
       it->Next()) {
    ++stored;
  }
  EXPECT_EQ(stored, 5);
}

TEST_F(RaftDbTest, SnapshotThatTheLogDoesNotHoldReplacesTheLog) {
  ASSERT_TRUE(Append(writer(), 4, MakeEntries(1, 5, 1)).ok());
  GroupWrite install;
  install.group = GroupId(4);
  install.snapshot = MakeSnapshot(20, 3, {1, 2, 4});
  install.entries = MakeEntries(21, 22, 3);
  install.hard_state = MakeHardState(3, 0, 20);
  ASSERT_TRUE(Write(writer(), std::move(install)).ok());
  const LogStorage& s = storage(4);
  EXPECT_EQ(s.FirstIndex(), Index(21));
  EXPECT_EQ(s.LastIndex(), Index(22));
  EXPECT_EQ(*s.TermAt(Index(20)), Term(3));
  auto initial = s.GetInitialState();
  ASSERT_TRUE(initial.ok());
  EXPECT_EQ(initial->conf_state.voters_size(), 3);
  EXPECT_EQ(initial->conf_state.voters(2), 4u);
  std::string value;
  EXPECT_TRUE(db_->db()
                  ->Get(leveldb::ReadOptions(),
                        ldb::EntryKey(GroupId(4), Index(3)), &value)
                  .IsNotFound());
}

TEST_F(RaftDbTest, StateMachineWritesShareTheBatch) {
  WriteRequest request;
  GroupWrite write;
  write.group = GroupId(9);
  write.entries = MakeEntries(1, 1, 1);
  request.groups.push_back(std::move(write));
  const std::string key = ldb::StateMachinePrefix(GroupId(9)) + "msg/1";
  request.extra.Put(key, "body");
  ASSERT_TRUE(Write(writer(), std::move(request)).ok());
  std::string value;
  ASSERT_TRUE(db_->db()->Get(leveldb::ReadOptions(), key, &value).ok());
  EXPECT_EQ(value, "body");

  WriteRequest trespass;
  trespass.extra.Put(ldb::HardStateKey(GroupId(9)), "x");
  EXPECT_EQ(Write(writer(), std::move(trespass)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(storage(9).LastIndex(), Index(1));
}

TEST_F(RaftDbTest, OneGroupSeveralTimesInOneRequest) {
  // Each part is staged against the log as the part before leaves it.
  WriteRequest request;
  request.groups.push_back({GroupId(1), {}, MakeEntries(1, 4, 1), {}, {}});
  request.groups.push_back({GroupId(1), {}, MakeEntries(3, 3, 2), {}, {}});
  request.groups.push_back({GroupId(1), {}, MakeEntries(4, 5, 2), {}, {}});
  ASSERT_TRUE(Write(writer(), std::move(request)).ok());
  EXPECT_EQ(TermsOf(storage(1), 1, 6), (std::vector<uint64_t>{1, 1, 2, 2, 2}));
}

}  // namespace
}  // namespace sluice::raft
