// Snapshot and restore (issue 4, point 9), and the digest (point 1).
#include "broker/queue/snapshot.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/queue/keys.h"
#include "gtest/gtest.h"
#include "leveldb/write_batch.h"
#include "tests/broker/queue_test_util.h"

namespace sluice::broker {
namespace {

using testing::FifoAttributes;
using testing::QueueHarness;
using testing::TempDb;

void Populate(QueueHarness& q) {
  for (int i = 0; i < 300; ++i) {
    q.Send(std::string(100 + i, 'a' + i % 26), "G" + std::to_string(i % 7));
  }
  q.Receive(5);
  q.Advance(absl::Seconds(3));
  q.Receive(3);
}

TEST(Snapshot, RestoreOnEmptyReplicaGivesIdenticalDigest) {
  QueueHarness q(FifoAttributes(true), /*partition=*/9);
  Populate(q);
  const std::string digest = *q.sm().Digest();
  SnapshotReader reader(q.db(), QueueKeyPrefix(9));
  EXPECT_EQ(reader.applied_index(), q.sm().last_applied_index());
  // Writes after the snapshot was taken are not in it.
  q.Send("after", "G0");

  TempDb target;
  int chunks = 0;
  while (true) {
    auto chunk = reader.NextChunk(4096);
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    if (!chunk->has_value()) break;
    ++chunks;
    leveldb::WriteBatch batch;
    LevelDbWriteBatch writer(&batch);
    ASSERT_TRUE(RestoreChunk(**chunk, QueueKeyPrefix(9), writer).ok());
    target.Write(&batch);
  }
  EXPECT_GT(chunks, 5);
  ManualClock clock(absl::FromUnixSeconds(5));
  QueueOptions options;
  options.partition = PartitionId(9);
  options.key_prefix = QueueKeyPrefix(9);
  options.db = target.db();
  options.clock = &clock;
  auto restored = QueueStateMachine::Open(options);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(*(*restored)->Digest(), digest);
  QueueStats s = (*restored)->Stats(absl::Now());
  EXPECT_EQ(s.in_flight, 8u);
}

// The chunks of a partition whose DB holds `records` (key suffix, value)
// under QueueKeyPrefix(3), as a leader would stream them.
std::vector<std::string> ChunksOf(
    const std::vector<std::pair<std::string, std::string>>& records) {
  TempDb db;
  leveldb::WriteBatch batch;
  for (const auto& [suffix, value] : records) {
    batch.Put(QueueKeyPrefix(3) + suffix, value);
  }
  db.Write(&batch);
  SnapshotReader reader(db.db(), QueueKeyPrefix(3));
  std::vector<std::string> chunks;
  while (true) {
    auto chunk = reader.NextChunk(1 << 20);
    if (!chunk.ok() || !chunk->has_value()) break;
    chunks.push_back(**chunk);
  }
  return chunks;
}

absl::Status CheckAll(const std::vector<std::string>& chunks) {
  RestoreCheck check;
  for (const std::string& chunk : chunks) {
    if (absl::Status s = CheckChunk(chunk, check); !s.ok()) return s;
  }
  return check.Finish();
}

std::string MessageKey(RecordKind kind, uint64_t seq) {
  std::string key(1, static_cast<char>(kind));
  AppendBigEndian64(&key, seq);
  return key;
}

// Found by tests/fuzz/queue_snapshot_fuzzer.cc: a snapshot with intact
// chunks whose records QueueStateMachine::Open cannot load (a message's
// meta without its state, an unreadable attributes record) or read (a
// message without its body) was written by the restore, and the host then
// crashed in FinishRestore, and again at every restart. RestoreCheck lets
// the host refuse such a snapshot before anything is written.
TEST(Snapshot, RecordsTheQueueCannotLoadAreRefused) {
  QueueHarness q;
  q.Send("hello");
  q.Receive(1);
  std::vector<std::pair<std::string, std::string>> records;
  {
    std::unique_ptr<leveldb::Iterator> it(
        q.db()->NewIterator(leveldb::ReadOptions()));
    const std::string prefix = QueueKeyPrefix(1);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      records.emplace_back(it->key().ToString().substr(prefix.size()),
                           it->value().ToString());
    }
  }
  ASSERT_TRUE(CheckAll(ChunksOf(records)).ok());

  auto without = [&](char kind) {
    auto copy = records;
    std::erase_if(copy, [&](const auto& r) { return r.first[0] == kind; });
    return copy;
  };
  EXPECT_EQ(CheckAll(ChunksOf(without('s'))).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(CheckAll(ChunksOf(without('b'))).code(),
            absl::StatusCode::kDataLoss);
  auto garbage = [&](std::string suffix) {
    auto copy = records;
    copy.emplace_back(std::move(suffix), "\xff\xff\xff");
    return copy;
  };
  EXPECT_EQ(CheckAll(ChunksOf(garbage("c"))).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(
      CheckAll(ChunksOf(garbage(MessageKey(RecordKind::kMeta, 1)))).code(),
      absl::StatusCode::kDataLoss);
  EXPECT_EQ(CheckAll(ChunksOf(garbage("m\x01"))).code(),
            absl::StatusCode::kDataLoss);

  // RestoreChunk with the check refuses the same chunk it would write.
  leveldb::WriteBatch batch;
  LevelDbWriteBatch writer(&batch);
  RestoreCheck check;
  for (const std::string& chunk : ChunksOf(garbage("c"))) {
    EXPECT_FALSE(RestoreChunk(chunk, QueueKeyPrefix(3), writer, &check).ok());
  }
}

TEST(Snapshot, CorruptChunkIsRejected) {
  QueueHarness q;
  q.Send("x");
  SnapshotReader reader(q.db(), QueueKeyPrefix(1));
  auto chunk = reader.NextChunk(1 << 20);
  ASSERT_TRUE(chunk.ok() && chunk->has_value());
  std::string bad = **chunk;
  bad[5] ^= 1;
  leveldb::WriteBatch batch;
  LevelDbWriteBatch writer(&batch);
  EXPECT_EQ(RestoreChunk(bad, QueueKeyPrefix(1), writer).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(RestoreChunk("S", QueueKeyPrefix(1), writer).code(),
            absl::StatusCode::kDataLoss);
}

TEST(Snapshot, ClearPartitionRemovesOnlyThatPartition) {
  QueueHarness q;
  q.Send("x");
  ASSERT_TRUE(q.db()->Put(leveldb::WriteOptions(), "other", "v").ok());
  leveldb::WriteBatch batch;
  LevelDbWriteBatch writer(&batch);
  ASSERT_TRUE(ClearPartition(q.db(), QueueKeyPrefix(1), writer).ok());
  ASSERT_TRUE(q.db()->Write(leveldb::WriteOptions(), &batch).ok());
  std::string v;
  EXPECT_TRUE(q.db()->Get(leveldb::ReadOptions(), "other", &v).ok());
  q.Reopen();
  EXPECT_EQ(q.sm().index().size(), 0u);
}

// Deleting a removed partition in steps: each step deletes at most the
// given number of records, resumes after the last one, and the partition's
// neighbours survive.
TEST(Snapshot, ClearPartitionFromDeletesInStepsAndResumes) {
  QueueHarness q;
  for (int i = 0; i < 25; ++i) q.Send("m" + std::to_string(i));
  ASSERT_TRUE(q.db()->Put(leveldb::WriteOptions(), "other", "v").ok());
  auto records = [&] {
    size_t n = 0;
    std::unique_ptr<leveldb::Iterator> it(
        q.db()->NewIterator(leveldb::ReadOptions()));
    const std::string prefix = QueueKeyPrefix(1);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      ++n;
    }
    return n;
  };
  const size_t total = records();
  ASSERT_GT(total, 50u);
  std::string cursor;
  int steps = 0;
  while (true) {
    leveldb::WriteBatch batch;
    LevelDbWriteBatch writer(&batch);
    const size_t before = records();
    absl::StatusOr<bool> done =
        ClearPartitionFrom(q.db(), QueueKeyPrefix(1), 10, cursor, writer);
    ASSERT_TRUE(done.ok()) << done.status();
    ASSERT_TRUE(q.db()->Write(leveldb::WriteOptions(), &batch).ok());
    EXPECT_LE(before - records(), 10u);
    ++steps;
    if (*done) break;
    ASSERT_LT(steps, 1000);
  }
  EXPECT_EQ(records(), 0u);
  EXPECT_GE(steps, static_cast<int>(total / 10));
  std::string v;
  EXPECT_TRUE(q.db()->Get(leveldb::ReadOptions(), "other", &v).ok());
}

TEST(Digest, ReplicasWithDifferentClocksAgree) {
  QueueHarness a(FifoAttributes(true));
  QueueHarness b(FifoAttributes(true));
  b.clock().Advance(absl::Hours(5));  // another machine's monotonic epoch
  for (QueueHarness* q : {&a, &b}) {
    q->Send("x", "G");
    q->Send("y", "H");
  }
  // Only the leader (a) plans; both apply its commands.
  ReceivePlan plan = a.sm().PlanReceive({10, absl::Seconds(5)});
  internal::Command grant;
  *grant.mutable_grant() = plan.grant;
  a.Apply(grant);
  b.Apply(grant);
  EXPECT_EQ(*a.sm().Digest(), *b.sm().Digest());
  a.Send("z", "G");
  EXPECT_NE(*a.sm().Digest(), *b.sm().Digest());
}

}  // namespace
}  // namespace sluice::broker
