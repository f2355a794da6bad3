// QueueHarness: one QueueStateMachine over a real LevelDB in a fresh
// temporary directory, with a ManualClock for the replica's monotonic time
// and a log time that advances with it. Each Apply writes its batch
// synchronously, as the host's storage writer would. Test-only.
#ifndef SLUICE_TESTS_BROKER_QUEUE_TEST_UTIL_H_
#define SLUICE_TESTS_BROKER_QUEUE_TEST_UTIL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "broker/queue/queue_state_machine.h"
#include "leveldb/db.h"

namespace sluice::broker::testing {

// A LevelDB in a mkdtemp directory under /tmp, destroyed with the object.
class TempDb {
 public:
  TempDb();
  ~TempDb();
  leveldb::DB* db() { return db_.get(); }
  void Write(leveldb::WriteBatch* batch);  // sync unless set_sync(false)
  // Long randomized runs skip the fsync (the writes are the same).
  void set_sync(bool sync) { sync_ = sync; }

 private:
  bool sync_ = true;
  std::string dir_;
  std::unique_ptr<leveldb::DB> db_;
};

class QueueHarness {
 public:
  // A standard queue unless `attributes` says otherwise (applied as the
  // first command when given).
  explicit QueueHarness(
      std::optional<internal::QueueAttributes> attributes = std::nullopt,
      uint64_t partition = 1);

  QueueStateMachine& sm() { return *sm_; }
  ManualClock& clock() { return clock_; }
  leveldb::DB* db() { return db_.db(); }
  void set_sync(bool sync) { db_.set_sync(sync); }
  absl::Time log_time() const { return log_time_; }
  uint64_t next_index() const { return next_index_; }

  // Moves monotonic time and log time forward together.
  void Advance(absl::Duration d);
  // Log time only (a leader's wall clock differs from this replica's).
  void SetLogTime(absl::Time t) { log_time_ = t; }

  // Stamps log time and the next index, applies, writes the batch.
  ApplyResult Apply(internal::Command command);

  // Restart: drops the state machine and opens it again from LevelDB.
  void Reopen();

  // Shorthands.
  ApplyResult Configure(const internal::QueueAttributes& attributes);
  SendResult Send(const std::string& body, const std::string& group = "",
                  const std::string& dedup = "",
                  std::optional<absl::Duration> delay = std::nullopt);
  // PlanReceive then apply its grant (and dead-letter moves, if any).
  std::vector<LeasedMessage> Receive(
      uint32_t max, std::optional<absl::Duration> timeout = std::nullopt);
  absl::Status Delete(const LeasedMessage& m);
  absl::Status Delete(const std::string& receipt_handle);
  absl::Status ChangeVisibility(const LeasedMessage& m, absl::Duration d);
  absl::Status Nack(const LeasedMessage& m,
                    std::optional<absl::Duration> delay = std::nullopt);
  std::string Body(MessageSeq seq);

 private:
  TempDb db_;
  ManualClock clock_{absl::FromUnixSeconds(1000)};
  absl::Time log_time_ = absl::FromUnixSeconds(1'800'000'000);
  uint64_t partition_;
  uint64_t next_index_ = 1;
  std::unique_ptr<QueueStateMachine> sm_;
};

internal::QueueAttributes FifoAttributes(bool content_based = false);
internal::SendEntry Entry(const std::string& body,
                          const std::string& group = "",
                          const std::string& dedup = "");

}  // namespace sluice::broker::testing

#endif  // SLUICE_TESTS_BROKER_QUEUE_TEST_UTIL_H_
