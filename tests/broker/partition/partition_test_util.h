// PartitionFixture: a PartitionOps over a real QueueStateMachine on a temp
// LevelDB, with a TestProposer that applies each proposed command directly
// (no Raft), at once or when the test says so. Test-only.
#ifndef SLUICE_TESTS_BROKER_PARTITION_PARTITION_TEST_UTIL_H_
#define SLUICE_TESTS_BROKER_PARTITION_PARTITION_TEST_UTIL_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "broker/partition/partition_ops.h"
#include "broker/partition/proposer.h"
#include "broker/queue/queue_state_machine.h"
#include "gtest/gtest.h"
#include "tests/broker/queue_test_util.h"

namespace sluice::broker::testing {

// Applies proposals to `sm`, writing each batch to `db` as the host would.
// Synchronous by default; set_async(true) queues them until ApplyNext /
// FailNext / ApplyAll. Every proposed command is logged.
class TestProposer final : public Proposer {
 public:
  TestProposer(QueueStateMachine* sm, TempDb* db) : sm_(sm), db_(db) {}

  void Propose(internal::Command command, Done done) override;

  void set_async(bool async) { async_ = async; }
  size_t pending() const { return pending_.size(); }
  void ApplyNext();
  void FailNext(absl::Status status);
  void ApplyAll();

  const std::vector<internal::Command>& log() const { return log_; }
  // How many proposed commands were of this kind.
  int Count(internal::Command::KindCase kind) const;

 private:
  void Drain();

  QueueStateMachine* sm_;
  TempDb* db_;
  bool async_ = false;
  bool draining_ = false;
  uint64_t next_index_ = 1;
  std::deque<std::pair<internal::Command, Done>> pending_;
  std::vector<internal::Command> log_;
};

inline constexpr uint64_t kQueueId = 42;
inline constexpr uint32_t kPartition = 3;

class PartitionFixture {
 public:
  // `attributes`: applied first (name "q" or "q.fifo" unless set).
  explicit PartitionFixture(internal::QueueAttributes attributes = {},
                            MoveSender* move_sender = nullptr,
                            PartitionOpsOptions options = {});

  PartitionOps& ops() { return *ops_; }
  // Drops the PartitionOps while proposals may still be pending.
  void DestroyOps() { ops_.reset(); }
  QueueStateMachine& sm() { return *sm_; }
  TestProposer& proposer() { return *proposer_; }
  ManualClock& clock() { return clock_; }
  ManualClock& wall() { return wall_; }
  // Both clocks together.
  void Advance(absl::Duration d) {
    clock_.Advance(d);
    wall_.Advance(d);
  }

  // Synchronous shorthands (the proposer must be synchronous).
  absl::StatusOr<v1::SendResponse> Send(const v1::SendRequest& request,
                                        std::vector<int> indexes = {});
  // One entry per body; OK expected, returns the results.
  std::vector<v1::SendResult> SendBodies(const std::vector<std::string>& bodies,
                                         const std::string& group = "");
  absl::StatusOr<v1::ReceiveResponse> Receive(
      uint32_t max, std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<v1::DeleteResponse> Delete(
      const std::vector<std::string>& handles);
  absl::StatusOr<v1::ChangeVisibilityResponse> ChangeVisibility(
      const std::vector<std::string>& handles, absl::Duration timeout);
  absl::StatusOr<v1::StreamItemResult> Nack(
      const std::vector<std::string>& handles,
      std::optional<absl::Duration> delay);
  absl::StatusOr<v1::StreamItemResult> Extend(
      const std::vector<std::string>& handles, absl::Duration timeout);
  absl::StatusOr<v1::PurgeQueueResponse> Purge();
  uint64_t VisibleCount();

 private:
  TempDb db_;
  ManualClock clock_{absl::FromUnixSeconds(1000)};
  ManualClock wall_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<QueueStateMachine> sm_;
  std::unique_ptr<TestProposer> proposer_;
  std::unique_ptr<PartitionOps> ops_;
};

// Runs `start(done)` and returns what `done` received (it must be called
// before `start` returns, i.e. with a synchronous proposer).
template <typename T, typename Start>
absl::StatusOr<T> Await(Start start) {
  std::optional<absl::StatusOr<T>> out;
  start([&](absl::StatusOr<T> r) { out = std::move(r); });
  if (!out.has_value()) return absl::InternalError("done not called");
  return *std::move(out);
}

v1::SendEntry TextEntry(const std::string& id, const std::string& body,
                        const std::string& group = "");

// Sends a copied outbox batch to another fixture's partition.
class FixtureMoveSender final : public MoveSender {
 public:
  void set_target(PartitionFixture* target) { target_ = target; }
  void SendMoves(const std::string& destination, internal::SendBatch batch,
                 std::function<void(absl::Status)> done) override;
  std::vector<std::string> destinations;

 private:
  PartitionFixture* target_ = nullptr;
};

}  // namespace sluice::broker::testing

#endif  // SLUICE_TESTS_BROKER_PARTITION_PARTITION_TEST_UTIL_H_
