// Key layout order and checksummed records.
#include <string>

#include "gtest/gtest.h"
#include "raft/leveldb/keys.h"
#include "raft/leveldb/records.h"
#include "tests/raft/leveldb/test_util.h"

namespace sluice::raft::ldb {
namespace {

using testing::MakeEntry;
using testing::MakeHardState;

TEST(KeysTest, BytewiseOrderIsGroupThenKindThenLogOrder) {
  const GroupId g1(1), g2(256);
  std::vector<std::string> in_order = {
      FormatVersionKey(),       HardStateKey(g1),
      SnapshotMetaKey(g1),      LogStartKey(g1),
      EntryKey(g1, Index(1)),   EntryKey(g1, Index(255)),
      EntryKey(g1, Index(256)), EntryKey(g1, Index(UINT64_MAX)),
      RaftGroupEnd(g1),         HardStateKey(g2),
      EntryKey(g2, Index(1)),   RaftSpaceEnd(),
      StateMachinePrefix(g1),   StateMachinePrefix(g2),
  };
  for (size_t i = 1; i < in_order.size(); ++i) {
    EXPECT_LT(in_order[i - 1], in_order[i]) << "position " << i;
  }
  EXPECT_LE(RaftGroupBegin(g1), HardStateKey(g1));
  EXPECT_LE(RaftSpaceBegin(), RaftGroupBegin(GroupId(0)));
}

TEST(KeysTest, ParseRaftKeyRoundTrips) {
  auto entry = ParseRaftKey(EntryKey(GroupId(7), Index(42)));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->group, GroupId(7));
  EXPECT_EQ(entry->kind, RaftKind::kEntry);
  EXPECT_EQ(entry->index, Index(42));
  auto hard = ParseRaftKey(HardStateKey(GroupId(9)));
  ASSERT_TRUE(hard.has_value());
  EXPECT_EQ(hard->kind, RaftKind::kHardState);
  EXPECT_FALSE(ParseRaftKey(StateMachinePrefix(GroupId(7))).has_value());
  EXPECT_FALSE(
      ParseRaftKey(EntryKey(GroupId(7), Index(1)).substr(0, 12)).has_value());
}

TEST(RecordsTest, EntryRoundTrip) {
  const auto entry = MakeEntry(12, 3, "payload");
  const std::string value = EncodeEntry(GroupId(5), entry);
  auto decoded = DecodeEntry(GroupId(5), Index(12), value);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->SerializeAsString(), entry.SerializeAsString());
}

TEST(RecordsTest, EveryFlippedBitIsCaught) {
  const std::string value = EncodeEntry(GroupId(5), MakeEntry(12, 3, "abc"));
  for (size_t byte = 0; byte < value.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = value;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      auto decoded = DecodeEntry(GroupId(5), Index(12), bad);
      ASSERT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss)
          << "byte " << byte << " bit " << bit;
      EXPECT_NE(decoded.status().message().find("group 5 index 12"),
                std::string::npos)
          << decoded.status();
    }
  }
}

TEST(RecordsTest, EveryTruncationIsCaught) {
  const std::string value = EncodeEntry(GroupId(5), MakeEntry(12, 3, "abc"));
  for (size_t size = 0; size < value.size(); ++size) {
    auto decoded = DecodeEntry(GroupId(5), Index(12), value.substr(0, size));
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << size;
  }
}

TEST(RecordsTest, RecordUnderTheWrongKeyIsCaught) {
  const std::string value = EncodeEntry(GroupId(5), MakeEntry(12, 3));
  EXPECT_EQ(DecodeEntry(GroupId(6), Index(12), value).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeEntry(GroupId(5), Index(13), value).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(RecordsTest, HardStateAndLogStartRoundTrip) {
  const std::string hard = EncodeHardState(GroupId(2), MakeHardState(4, 1, 9));
  auto state = DecodeHardState(GroupId(2), hard);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->term(), 4u);
  EXPECT_EQ(state->commit(), 9u);
  std::string bad = hard;
  bad.back() ^= 1;
  EXPECT_EQ(DecodeHardState(GroupId(2), bad).status().code(),
            absl::StatusCode::kDataLoss);

  auto start = DecodeLogStart(GroupId(2),
                              EncodeLogStart(GroupId(2), {Index(10), Term(3)}));
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(start->index, Index(10));
  EXPECT_EQ(start->term, Term(3));
}

}  // namespace
}  // namespace sluice::raft::ldb
