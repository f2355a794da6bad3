// Group commit: requests from many threads share synced batches; every
// callback runs exactly once, after its write is durable and visible.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "raft/leveldb/raft_db.h"
#include "tests/raft/leveldb/test_util.h"

namespace sluice::raft {
namespace {

using testing::MakeEntries;
using testing::TempDir;

constexpr int kThreads = 8;
constexpr int kRequestsPerThread = 25;
constexpr int kEntriesPerRequest = 2;

// Thread t appends to group t + 1, kRequestsPerThread requests in a row
// without waiting (pipelined); each callback checks that its entries are
// already visible in the group's storage and counts itself.
struct Requester {
  RaftDb* db;
  std::vector<std::atomic<int>>* calls;  // per request
  std::atomic<int>* not_durable;
  absl::BlockingCounter* remaining;

  void Run(int thread) {
    const GroupId group(thread + 1);
    for (int r = 0; r < kRequestsPerThread; ++r) {
      const uint64_t first = r * kEntriesPerRequest + 1;
      const Index last(first + kEntriesPerRequest - 1);
      WriteRequest request;
      request.groups.push_back(
          {group, {}, MakeEntries(first, last.value(), 1), {}, {}});
      const int id = thread * kRequestsPerThread + r;
      request.done = [this, group, last, id](absl::Status status) {
        if (!status.ok() || db->Storage(group).LastIndex() < last) {
          not_durable->fetch_add(1);
        }
        (*calls)[id].fetch_add(1);
        remaining->DecrementCount();
      };
      db->writer().Submit(std::move(request));
    }
  }
};

TEST(GroupCommitTest, RequestsQueuedDuringASyncShareTheNextBatch) {
  TempDir dir;
  // Hold the writer in its first batch until every thread has submitted.
  absl::Notification writer_held;
  absl::Notification release;
  std::atomic<bool> first_batch{true};
  RaftDb::Options options;
  options.writer.before_batch = [&] {
    if (first_batch.exchange(false)) {
      writer_held.Notify();
      release.WaitForNotification();
    }
  };
  auto opened = RaftDb::Open(dir.db_path(), std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<RaftDb> db = *std::move(opened);

  constexpr int kRequests = kThreads * kRequestsPerThread + 1;
  std::vector<std::atomic<int>> calls(kRequests);
  std::atomic<int> not_durable{0};
  absl::BlockingCounter remaining(kRequests);

  // The first request occupies the writer.
  WriteRequest opener;
  opener.groups.push_back({GroupId(100), {}, MakeEntries(1, 1, 1), {}, {}});
  opener.done = [&](absl::Status status) {
    if (!status.ok() || db->Storage(GroupId(100)).LastIndex() != Index(1)) {
      not_durable.fetch_add(1);
    }
    calls[kRequests - 1].fetch_add(1);
    remaining.DecrementCount();
  };
  db->writer().Submit(std::move(opener));
  writer_held.WaitForNotification();

  Requester requester{db.get(), &calls, &not_durable, &remaining};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&requester, t] { requester.Run(t); });
  }
  for (auto& thread : threads) thread.join();
  // Nothing is visible before it is durable.
  EXPECT_EQ(db->Storage(GroupId(100)).LastIndex(), Index(0));
  EXPECT_EQ(db->Storage(GroupId(1)).LastIndex(), Index(0));
  release.Notify();
  remaining.Wait();

  EXPECT_EQ(not_durable.load(), 0);
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(calls[i].load(), 1) << "request " << i;
  }
  const StorageWriter::Stats stats = db->writer().stats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(kRequests));
  EXPECT_EQ(stats.batches, 2u) << "one held batch, then one with the rest";
  EXPECT_EQ(stats.entries,
            static_cast<uint64_t>(
                kThreads * kRequestsPerThread * kEntriesPerRequest + 1));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(db->Storage(GroupId(t + 1)).LastIndex(),
              Index(kRequestsPerThread * kEntriesPerRequest));
  }
}

TEST(GroupCommitTest, FreeRunningRequestersAllComplete) {
  TempDir dir;
  std::unique_ptr<RaftDb> db = testing::OpenDb(dir);
  ASSERT_NE(db, nullptr);
  constexpr int kRequests = kThreads * kRequestsPerThread;
  std::vector<std::atomic<int>> calls(kRequests);
  std::atomic<int> not_durable{0};
  absl::BlockingCounter remaining(kRequests);
  Requester requester{db.get(), &calls, &not_durable, &remaining};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&requester, t] { requester.Run(t); });
  }
  for (auto& thread : threads) thread.join();
  remaining.Wait();
  EXPECT_EQ(not_durable.load(), 0);
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(calls[i].load(), 1);
  const StorageWriter::Stats stats = db->writer().stats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(kRequests));
  EXPECT_LE(stats.batches, stats.requests);
}

}  // namespace
}  // namespace sluice::raft
