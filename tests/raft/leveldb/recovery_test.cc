// Restart recovery: close the DB and reopen it from the same directory.
#include <string>

#include "gtest/gtest.h"
#include "raft/leveldb/raft_db.h"
#include "raft/storage/log_storage.h"
#include "tests/raft/leveldb/test_util.h"

namespace sluice::raft {
namespace {

using testing::Append;
using testing::MakeEntries;
using testing::MakeHardState;
using testing::MakeSnapshot;
using testing::OpenDb;
using testing::TempDir;
using testing::TermsOf;
using testing::Write;

TEST(RecoveryTest, ReopenRebuildsEveryGroup) {
  TempDir dir;
  {
    auto db = OpenDb(dir);
    ASSERT_NE(db, nullptr);
    // Group 1: plain log with a truncated suffix and a hard state.
    ASSERT_TRUE(Append(db->writer(), 1, MakeEntries(1, 8, 1)).ok());
    GroupWrite rewrite;
    rewrite.group = GroupId(1);
    rewrite.entries = MakeEntries(6, 7, 2);
    rewrite.hard_state = MakeHardState(2, 3, 5);
    ASSERT_TRUE(Write(db->writer(), std::move(rewrite)).ok());
    // Group 2: compacted behind a local snapshot.
    ASSERT_TRUE(Append(db->writer(), 2, MakeEntries(1, 10, 1)).ok());
    GroupWrite compact;
    compact.group = GroupId(2);
    compact.snapshot = MakeSnapshot(6, 1);
    compact.compact_to = Index(6);
    ASSERT_TRUE(Write(db->writer(), std::move(compact)).ok());
    // Group 1000: only a snapshot received from the leader, no entries.
    GroupWrite installed;
    installed.group = GroupId(1000);
    installed.snapshot = MakeSnapshot(50, 7, {4, 5, 6});
    installed.hard_state = MakeHardState(7, 0, 50);
    ASSERT_TRUE(Write(db->writer(), std::move(installed)).ok());
  }
  auto db = OpenDb(dir);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Groups(),
            (std::vector<GroupId>{GroupId(1), GroupId(2), GroupId(1000)}));

  const LogStorage& g1 = db->Storage(GroupId(1));
  EXPECT_EQ(g1.FirstIndex(), Index(1));
  EXPECT_EQ(g1.LastIndex(), Index(7));
  EXPECT_EQ(TermsOf(g1, 1, 8), (std::vector<uint64_t>{1, 1, 1, 1, 1, 2, 2}));
  auto initial = g1.GetInitialState();
  ASSERT_TRUE(initial.ok());
  EXPECT_EQ(initial->hard_state.term(), 2u);
  EXPECT_EQ(initial->hard_state.vote(), 3u);
  EXPECT_EQ(initial->hard_state.commit(), 5u);

  const LogStorage& g2 = db->Storage(GroupId(2));
  EXPECT_EQ(g2.FirstIndex(), Index(7));
  EXPECT_EQ(g2.LastIndex(), Index(10));
  EXPECT_EQ(*g2.TermAt(Index(6)), Term(1));
  EXPECT_TRUE(IsCompacted(g2.TermAt(Index(5)).status()));
  EXPECT_EQ(g2.SnapshotMetadata()->index(), 6u);

  const LogStorage& g1000 = db->Storage(GroupId(1000));
  EXPECT_EQ(g1000.FirstIndex(), Index(51));
  EXPECT_EQ(g1000.LastIndex(), Index(50));
  EXPECT_EQ(*g1000.TermAt(Index(50)), Term(7));
  EXPECT_EQ(g1000.GetInitialState()->conf_state.voters(0), 4u);

  // The recovered state is the base for new writes.
  ASSERT_TRUE(Append(db->writer(), 1, MakeEntries(7, 9, 3)).ok());
  EXPECT_EQ(TermsOf(db->Storage(GroupId(1)), 5, 10),
            (std::vector<uint64_t>{1, 2, 3, 3, 3}));
  ASSERT_TRUE(Append(db->writer(), 1000, MakeEntries(51, 51, 7)).ok());
  EXPECT_EQ(db->Storage(GroupId(1000)).LastIndex(), Index(51));
}

TEST(RecoveryTest, QueuedWritesAreFinishedBeforeClose) {
  TempDir dir;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  {
    auto db = OpenDb(dir);
    ASSERT_NE(db, nullptr);
    for (int i = 0; i < kRequests; ++i) {
      WriteRequest request;
      request.groups.push_back(
          {GroupId(5), {}, MakeEntries(i + 1, i + 1, 1), {}, {}});
      request.done = [&ok](absl::Status s) {
        if (s.ok()) ok.fetch_add(1);
      };
      db->writer().Submit(std::move(request));
    }
  }  // the destructor drains the queue
  EXPECT_EQ(ok.load(), kRequests);
  auto db = OpenDb(dir);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Storage(GroupId(5)).LastIndex(), Index(kRequests));
}

}  // namespace
}  // namespace sluice::raft
