#include <filesystem>
#include <map>

#include "broker/meta/metadata_state_machine.h"
#include "broker/meta/placement.h"
#include "broker/meta/queue_names.h"
#include "broker/queue/state_write_batch.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "leveldb/db.h"
#include "leveldb/write_batch.h"

namespace sluice::meta {
namespace {

using sluice::internal::MetadataCommand;
using sluice::internal::MetadataState;
using ::testing::HasSubstr;

TEST(QueueNamesTest, FollowsSqsRules) {
  EXPECT_TRUE(ValidateQueueName("jobs", false).ok());
  EXPECT_TRUE(ValidateQueueName("a-B_9", false).ok());
  EXPECT_TRUE(ValidateQueueName(std::string(80, 'q'), false).ok());
  EXPECT_TRUE(ValidateQueueName(std::string(75, 'q') + ".fifo", true).ok());
  EXPECT_THAT(ValidateQueueName(std::string(81, 'q'), false).message(),
              HasSubstr("81 characters; at most 80"));
  EXPECT_THAT(ValidateQueueName(std::string(76, 'q') + ".fifo", true).message(),
              HasSubstr("at most 80"));
  EXPECT_THAT(ValidateQueueName("", false).message(),
              HasSubstr("name: required"));
  EXPECT_THAT(ValidateQueueName("jobs", true).message(),
              HasSubstr("must end in"));
  EXPECT_THAT(ValidateQueueName("jobs.fifo", false).message(),
              HasSubstr("only FIFO queues"));
  EXPECT_THAT(ValidateQueueName(".fifo", true).message(), HasSubstr("alone"));
  EXPECT_THAT(ValidateQueueName("jobs.v2", false).message(),
              HasSubstr("character 5 of 'jobs.v2'"));
  EXPECT_EQ(ValidateQueueName("caf\xc3\xa9", false).code(),
            absl::StatusCode::kInvalidArgument);
}

// Replicas and preferred leaders per node over the whole state plus `extra`.
std::pair<std::map<uint64_t, int>, std::map<uint64_t, int>> Load(
    const MetadataState& state) {
  std::map<uint64_t, int> replicas, leaders;
  for (const auto& q : state.queues()) {
    for (const auto& p : q.partitions()) {
      for (uint64_t n : p.replicas()) ++replicas[n];
      ++leaders[p.preferred_leader()];
    }
  }
  return {replicas, leaders};
}

void AddQueue(MetadataState& state, const std::vector<uint64_t>& nodes,
              uint32_t n) {
  auto placed = PlacePartitions(state, nodes, n, 3);
  ASSERT_TRUE(placed.ok()) << placed.status();
  auto* q = state.add_queues();
  q->set_name("q" + std::to_string(state.queues_size()));
  for (auto& p : *placed) *q->add_partitions() = p;
}

TEST(PlacementTest, SpreadsReplicasAndLeadersEvenly) {
  MetadataState three;
  AddQueue(three, {1, 2, 3}, 12);
  auto [replicas, leaders] = Load(three);
  for (uint64_t n : {1, 2, 3}) {
    EXPECT_EQ(replicas[n], 12) << n;
    EXPECT_EQ(leaders[n], 4) << n;
  }
  MetadataState five;
  AddQueue(five, {1, 2, 3, 4, 5}, 10);
  std::tie(replicas, leaders) = Load(five);
  for (uint64_t n : {1, 2, 3, 4, 5}) {
    EXPECT_EQ(replicas[n], 6) << n;
    EXPECT_EQ(leaders[n], 2) << n;
  }
}

TEST(PlacementTest, QueuesAddedOneByOneStayEven) {
  MetadataState state;
  for (int i = 0; i < 10; ++i) AddQueue(state, {1, 2, 3, 4, 5}, 1);
  auto [replicas, leaders] = Load(state);
  for (uint64_t n : {1, 2, 3, 4, 5}) {
    EXPECT_EQ(replicas[n], 6) << n;
    EXPECT_EQ(leaders[n], 2) << n;
  }
}

TEST(PlacementTest, ReplicationIsCappedAndDeterministic) {
  MetadataState state;
  auto a = PlacePartitions(state, {1, 2}, 4, 3);
  auto b = PlacePartitions(state, {1, 2}, 4, 3);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), 4u);
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].replicas_size(), 2);
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals((*a)[i], (*b)[i]));
  }
  EXPECT_EQ(PlacePartitions(state, {}, 1, 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PlacePartitions(state, {1}, 0, 3).status().code(),
            absl::StatusCode::kInvalidArgument);
}

class MetadataStateMachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::path(::testing::TempDir()) /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(path_);
    Reopen();
  }
  void TearDown() override {
    sm_.reset();
    db_.reset();
    std::filesystem::remove_all(path_);
  }
  void Reopen() {
    sm_.reset();
    db_.reset();
    leveldb::Options options;
    options.create_if_missing = true;
    leveldb::DB* db = nullptr;
    ASSERT_TRUE(leveldb::DB::Open(options, path_, &db).ok());
    db_.reset(db);
    auto sm = MetadataStateMachine::Open(db_.get());
    ASSERT_TRUE(sm.ok()) << sm.status();
    sm_ = std::move(*sm);
  }
  // Applies `command` at the next index and writes the batch, as the host
  // does.
  MetadataApplyResult Apply(const MetadataCommand& command) {
    leveldb::WriteBatch batch;
    broker::LevelDbWriteBatch writes(&batch);
    std::any result =
        sm_->Apply(raft::Index(++index_), command.SerializeAsString(), writes);
    EXPECT_TRUE(db_->Write(leveldb::WriteOptions(), &batch).ok());
    return *MetadataResult(result);
  }
  static MetadataCommand Create(const std::string& name, int partitions,
                                bool fifo = false) {
    MetadataCommand c;
    c.set_log_time_micros(1000);
    auto* q = c.mutable_create_queue()->mutable_queue();
    q->set_name(name);
    q->mutable_attributes()->set_fifo(fifo);
    q->mutable_attributes()->set_name(name);
    auto placed = PlacePartitions(MetadataState(), {1, 2, 3}, partitions, 3);
    for (auto& p : *placed) *q->add_partitions() = p;
    return c;
  }

  std::string path_;
  std::unique_ptr<leveldb::DB> db_;
  std::unique_ptr<MetadataStateMachine> sm_;
  uint64_t index_ = 1;
};

TEST_F(MetadataStateMachineTest, CreateAssignsFreshGroupIdsAndIsIdempotent) {
  MetadataApplyResult a = Apply(Create("jobs", 2));
  ASSERT_TRUE(a.status.ok()) << a.status;
  EXPECT_EQ(a.queue.partitions(0).group_id(), 2u);
  EXPECT_EQ(a.queue.partitions(1).group_id(), 3u);
  EXPECT_EQ(a.queue.created_micros(), 1000);
  MetadataApplyResult again = Apply(Create("jobs", 2));
  EXPECT_TRUE(again.status.ok());
  EXPECT_EQ(again.queue.partitions(0).group_id(), 2u);
  MetadataApplyResult other = Apply(Create("jobs", 3));
  EXPECT_EQ(other.status.code(), absl::StatusCode::kAlreadyExists);
  MetadataApplyResult b = Apply(Create("alpha", 1));
  EXPECT_EQ(b.queue.partitions(0).group_id(), 4u);
  ASSERT_EQ(sm_->state().queues_size(), 2);
  EXPECT_EQ(sm_->state().queues(0).name(), "alpha");  // sorted by name
}

TEST_F(MetadataStateMachineTest, DeleteRemovesAndIdsAreNotReused) {
  ASSERT_TRUE(Apply(Create("jobs", 1)).status.ok());
  MetadataCommand del;
  del.mutable_delete_queue()->set_name("jobs");
  EXPECT_TRUE(Apply(del).status.ok());
  EXPECT_EQ(sm_->FindQueue("jobs"), nullptr);
  EXPECT_EQ(Apply(del).status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Apply(Create("jobs", 1)).queue.partitions(0).group_id(), 3u);
}

TEST_F(MetadataStateMachineTest, MaxQueuesInTheCommandCapsTheCluster) {
  auto capped = [&](const std::string& name, uint32_t max) {
    MetadataCommand c = Create(name, 1);
    c.mutable_create_queue()->set_max_queues(max);
    return c;
  };
  ASSERT_TRUE(Apply(capped("a", 2)).status.ok());
  ASSERT_TRUE(Apply(capped("b", 2)).status.ok());
  MetadataApplyResult full = Apply(capped("c", 2));
  EXPECT_EQ(full.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.status.message(), HasSubstr("already holds 2 queues"));
  // A retried create of an existing queue is not a new queue.
  EXPECT_TRUE(Apply(capped("a", 2)).status.ok());
  // 0: entries from before the limit existed are not limited.
  EXPECT_TRUE(Apply(capped("c", 0)).status.ok());
}

TEST_F(MetadataStateMachineTest, BadCommandsAreErrorsNotCrashes) {
  EXPECT_EQ(Apply(Create("bad name", 1)).status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Apply(Create("jobs", 1, /*fifo=*/true)).status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Apply(MetadataCommand()).status.code(),
            absl::StatusCode::kInvalidArgument);
  leveldb::WriteBatch batch;
  broker::LevelDbWriteBatch writes(&batch);
  std::any r = sm_->Apply(raft::Index(++index_), "\xff\xff garbage", writes);
  EXPECT_EQ(MetadataResult(r)->status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sm_->LastApplied(), raft::Index(index_));
}

TEST_F(MetadataStateMachineTest, RestartAndSnapshotRestoreGiveTheSameState) {
  ASSERT_TRUE(Apply(Create("jobs", 2)).status.ok());
  ASSERT_TRUE(Apply(Create("mail.fifo", 1, true)).status.ok());
  const MetadataState before = sm_->state();
  Reopen();
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(sm_->state(), before));
  EXPECT_EQ(sm_->LastApplied(), raft::Index(index_));

  auto source = sm_->OpenSnapshot();
  ASSERT_TRUE(source.ok());
  std::string data;
  while (true) {
    auto chunk = (*source)->NextChunk(1 << 20);
    ASSERT_TRUE(chunk.ok());
    if (!chunk->has_value()) break;
    data += **chunk;
  }
  // A fresh replica restores from it.
  TearDown();
  SetUp();
  int changes = 0;
  sm_->set_observer([&](const MetadataState&) { ++changes; });
  leveldb::WriteBatch batch;
  broker::LevelDbWriteBatch writes(&batch);
  ASSERT_TRUE(sm_->PrepareRestore(data, writes).ok());
  ASSERT_TRUE(db_->Write(leveldb::WriteOptions(), &batch).ok());
  ASSERT_TRUE(sm_->FinishRestore().ok());
  EXPECT_EQ(changes, 1);
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(sm_->state(), before));
  EXPECT_EQ(sm_->PrepareRestore("garbage\xff", writes).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace sluice::meta
