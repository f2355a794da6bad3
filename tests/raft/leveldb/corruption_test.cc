// Damaged records: a flipped byte, a torn (truncated) value, a lost entry. A
// damaged record is a DataLossError naming group and index, on read while
// running and at recovery; the damage stays within its group.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "leveldb/db.h"
#include "raft/leveldb/keys.h"
#include "raft/leveldb/raft_db.h"
#include "tests/raft/leveldb/test_util.h"

namespace sluice::raft {
namespace {

using testing::Append;
using testing::MakeEntries;
using testing::MakeHardState;
using testing::OpenDb;
using testing::TempDir;
using testing::Write;

enum class Damage { kFlippedByte, kTornValue };

std::string Apply(Damage damage, std::string value) {
  switch (damage) {
    case Damage::kFlippedByte:
      value[value.size() / 2] ^= 0x10;
      break;
    case Damage::kTornValue:  // a write cut short
      value.resize(value.size() / 2);
      break;
  }
  return value;
}

void PrintTo(Damage damage, std::ostream* os) {
  *os << (damage == Damage::kFlippedByte ? "flipped byte" : "torn value");
}

bool Names(const absl::Status& status, const std::string& what) {
  return status.message().find(what) != std::string::npos;
}

// Rewrites the value under `key` with `damage`, through a raw LevelDB handle.
void DamageRaw(leveldb::DB* db, const std::string& key, Damage damage) {
  std::string value;
  ASSERT_TRUE(db->Get(leveldb::ReadOptions(), key, &value).ok());
  ASSERT_TRUE(db->Put(leveldb::WriteOptions(), key, Apply(damage, value)).ok());
}

// Opens the directory with plain LevelDB while no RaftDb has
// it open, damages one value, closes.
void DamageClosed(const TempDir& dir, const std::string& key, Damage damage) {
  leveldb::DB* raw = nullptr;
  ASSERT_TRUE(leveldb::DB::Open(leveldb::Options(), dir.db_path(), &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  DamageRaw(db.get(), key, damage);
}

class EntryCorruptionTest : public ::testing::TestWithParam<Damage> {};

TEST_P(EntryCorruptionTest, DamagedEntryIsDataLossOnRead) {
  TempDir dir;
  auto db = OpenDb(dir);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(Append(db->writer(), 7, MakeEntries(1, 5, 1)).ok());
  DamageRaw(db->db(), ldb::EntryKey(GroupId(7), Index(3)), GetParam());
  // Readers see the DB as of the last durable batch: make one.
  ASSERT_TRUE(Append(db->writer(), 8, MakeEntries(1, 1, 1)).ok());

  const LogStorage& s = db->Storage(GroupId(7));
  auto entries = s.Entries(Index(1), Index(6), UINT64_MAX);
  EXPECT_EQ(entries.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Names(entries.status(), "group 7 index 3")) << entries.status();
  // Entries before and after the damaged one still read.
  EXPECT_TRUE(s.Entries(Index(1), Index(3), UINT64_MAX).ok());
  EXPECT_TRUE(s.Entries(Index(4), Index(6), UINT64_MAX).ok());
}

TEST_P(EntryCorruptionTest, DamagedEntryIsFoundAtRecoveryAndStaysInItsGroup) {
  TempDir dir;
  {
    auto db = OpenDb(dir);
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(Append(db->writer(), 7, MakeEntries(1, 5, 1)).ok());
    ASSERT_TRUE(Append(db->writer(), 8, MakeEntries(1, 5, 1)).ok());
  }
  DamageClosed(dir, ldb::EntryKey(GroupId(7), Index(3)), GetParam());

  auto db = OpenDb(dir);
  ASSERT_NE(db, nullptr);
  const LogStorage& damaged = db->Storage(GroupId(7));
  auto initial = damaged.GetInitialState();
  EXPECT_EQ(initial.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Names(initial.status(), "group 7 index 3")) << initial.status();
  EXPECT_EQ(damaged.Entries(Index(1), Index(2), 100).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(damaged.TermAt(Index(1)).status().code(),
            absl::StatusCode::kDataLoss);
  // Nothing more is written to a damaged group.
  EXPECT_EQ(Append(db->writer(), 7, MakeEntries(6, 6, 1)).code(),
            absl::StatusCode::kDataLoss);
  // Group 8 is untouched.
  const LogStorage& healthy = db->Storage(GroupId(8));
  EXPECT_EQ(healthy.LastIndex(), Index(5));
  EXPECT_TRUE(healthy.Entries(Index(1), Index(6), UINT64_MAX).ok());
  EXPECT_TRUE(Append(db->writer(), 8, MakeEntries(6, 6, 1)).ok());
}

INSTANTIATE_TEST_SUITE_P(, EntryCorruptionTest,
                         ::testing::Values(Damage::kFlippedByte,
                                           Damage::kTornValue),
                         [](const auto& info) {
                           return info.param == Damage::kFlippedByte
                                      ? std::string("FlippedByte")
                                      : std::string("TornValue");
                         });

TEST(CorruptionTest, DamagedHardStateIsFoundAtRecovery) {
  TempDir dir;
  {
    auto db = OpenDb(dir);
    ASSERT_NE(db, nullptr);
    GroupWrite write;
    write.group = GroupId(4);
    write.hard_state = MakeHardState(3, 2, 0);
    ASSERT_TRUE(Write(db->writer(), std::move(write)).ok());
  }
  DamageClosed(dir, ldb::HardStateKey(GroupId(4)), Damage::kFlippedByte);
  auto db = OpenDb(dir);
  ASSERT_NE(db, nullptr);
  auto initial = db->Storage(GroupId(4)).GetInitialState();
  EXPECT_EQ(initial.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Names(initial.status(), "group 4 hard state"))
      << initial.status();
}

TEST(CorruptionTest, LostEntryIsAGapAtRecovery) {
  TempDir dir;
  {
    auto db = OpenDb(dir);
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(Append(db->writer(), 2, MakeEntries(1, 5, 1)).ok());
  }
  {
    leveldb::DB* raw = nullptr;
    ASSERT_TRUE(
        leveldb::DB::Open(leveldb::Options(), dir.db_path(), &raw).ok());
    std::unique_ptr<leveldb::DB> db(raw);
    ASSERT_TRUE(
        db->Delete(leveldb::WriteOptions(), ldb::EntryKey(GroupId(2), Index(3)))
            .ok());
  }
  auto db = OpenDb(dir);
  ASSERT_NE(db, nullptr);
  auto initial = db->Storage(GroupId(2)).GetInitialState();
  EXPECT_EQ(initial.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Names(initial.status(), "group 2 is broken at index 3"))
      << initial.status();
}

}  // namespace
}  // namespace sluice::raft
