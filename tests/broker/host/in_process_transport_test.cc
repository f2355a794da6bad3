#include "broker/host/in_process_transport.h"

#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "raft/leveldb/mutex_lock.h"

namespace sluice::broker {
namespace {

using sluice::internal::raft::Message;

class Recorder final : public TransportHandler {
 public:
  void Deliver(raft::NodeId from, std::vector<Message> messages) override {
    raft::ldb::MutexLock lock(&mu_);
    for (Message& m : messages) {
      delivered_.push_back({from.value(), m.index(), m.snapshot().data()});
    }
  }
  void ReportUnreachable(raft::NodeId peer) override {
    raft::ldb::MutexLock lock(&mu_);
    unreachable_.push_back(peer.value());
  }
  void ReportSnapshot(raft::GroupId group, raft::NodeId to, bool ok) override {
    raft::ldb::MutexLock lock(&mu_);
    snapshots_.push_back({group.value(), to.value(), ok});
    cv_.SignalAll();
  }

  struct Got {
    uint64_t from;
    uint64_t index;
    std::string data;
  };
  struct Snap {
    uint64_t group;
    uint64_t to;
    bool ok;
  };
  std::vector<Got> delivered() {
    raft::ldb::MutexLock lock(&mu_);
    return delivered_;
  }
  std::vector<uint64_t> unreachable() {
    raft::ldb::MutexLock lock(&mu_);
    return unreachable_;
  }
  // Waits for n snapshot reports.
  std::vector<Snap> WaitSnapshots(size_t n) {
    raft::ldb::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (snapshots_.size() < n) {
      raft::ldb::TsanRelease(&mu_);
      const bool timed_out = cv_.WaitWithDeadline(&mu_, deadline);
      raft::ldb::TsanAcquire(&mu_);
      if (timed_out) break;
    }
    return snapshots_;
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::vector<Got> delivered_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> unreachable_ ABSL_GUARDED_BY(mu_);
  std::vector<Snap> snapshots_ ABSL_GUARDED_BY(mu_);
};

std::vector<Message> Batch(uint64_t first, int n) {
  std::vector<Message> batch;
  for (int i = 0; i < n; ++i) {
    Message m;
    m.set_index(first + i);
    batch.push_back(m);
  }
  return batch;
}

class FixedSource final : public SnapshotSource {
 public:
  explicit FixedSource(std::vector<std::string> chunks)
      : chunks_(std::move(chunks)) {}
  absl::StatusOr<std::optional<std::string>> NextChunk(size_t) override {
    if (next_ == chunks_.size()) return std::nullopt;
    return chunks_[next_++];
  }

 private:
  std::vector<std::string> chunks_;
  size_t next_ = 0;
};

TEST(InProcessNetworkTest, DeliversInOrderAndReportsCutLinks) {
  InProcessNetwork net;
  Recorder a;
  Recorder b;
  net.Endpoint(raft::NodeId(1))->Start(&a);
  net.Endpoint(raft::NodeId(2))->Start(&b);
  net.Endpoint(raft::NodeId(1))->Send(raft::NodeId(2), Batch(1, 3));
  net.Endpoint(raft::NodeId(1))->Send(raft::NodeId(2), Batch(4, 2));
  auto got = b.delivered();
  ASSERT_EQ(got.size(), 5u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].from, 1u);
    EXPECT_EQ(got[i].index, i + 1);
  }
  net.Cut(raft::NodeId(2), raft::NodeId(1));
  net.Endpoint(raft::NodeId(1))->Send(raft::NodeId(2), Batch(6, 1));
  EXPECT_EQ(b.delivered().size(), 5u);
  EXPECT_EQ(a.unreachable(), std::vector<uint64_t>{2});
  net.Heal(raft::NodeId(1), raft::NodeId(2));
  // A stopped node is unreachable too.
  net.Endpoint(raft::NodeId(2))->Stop();
  net.Endpoint(raft::NodeId(1))->Send(raft::NodeId(2), Batch(7, 1));
  EXPECT_EQ(b.delivered().size(), 5u);
  EXPECT_EQ(a.unreachable().size(), 2u);
  net.Endpoint(raft::NodeId(1))->Stop();
}

TEST(InProcessNetworkTest, SnapshotsArriveWholeAndAreReported) {
  InProcessNetwork net;
  Recorder a;
  Recorder b;
  net.Endpoint(raft::NodeId(1))->Start(&a);
  net.Endpoint(raft::NodeId(2))->Start(&b);
  OutgoingSnapshot s;
  s.group = raft::GroupId(3);
  s.to = raft::NodeId(2);
  s.message.set_index(9);
  s.source =
      std::make_unique<FixedSource>(std::vector<std::string>{"ab", "cd", "e"});
  net.Endpoint(raft::NodeId(1))->SendSnapshot(std::move(s));
  auto reports = a.WaitSnapshots(1);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok);
  EXPECT_EQ(reports[0].group, 3u);
  auto got = b.delivered();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, "abcde");

  net.Isolate(raft::NodeId(2));
  OutgoingSnapshot t;
  t.group = raft::GroupId(3);
  t.to = raft::NodeId(2);
  t.source = std::make_unique<FixedSource>(std::vector<std::string>{"x"});
  net.Endpoint(raft::NodeId(1))->SendSnapshot(std::move(t));
  reports = a.WaitSnapshots(2);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_FALSE(reports[1].ok);
  net.Endpoint(raft::NodeId(1))->Stop();
  net.Endpoint(raft::NodeId(2))->Stop();
}

}  // namespace
}  // namespace sluice::broker
