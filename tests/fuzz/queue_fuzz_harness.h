// QueueFuzzHarness: one queue partition (broker/host/queue_partition.h, the
// ReplicaStateMachine the host applies committed entries to) over a LevelDB
// in memory, driven the way the host drives it: committed entries applied in
// index order with each batch written before the next, snapshot restores in
// two phases, reopening after a restart. Shared by queue_command_fuzzer.cc
// and queue_snapshot_fuzzer.cc. Test-only; one thread.
#ifndef SLUICE_TESTS_FUZZ_QUEUE_FUZZ_HARNESS_H_
#define SLUICE_TESTS_FUZZ_QUEUE_FUZZ_HARNESS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "broker/host/queue_partition.h"
#include "broker/queue/state_write_batch.h"
#include "leveldb/write_batch.h"
#include "tests/fuzz/fuzz_proto.h"
#include "tests/fuzz/fuzz_util.h"

namespace sluice::fuzz {

class QueueFuzzHarness {
 public:
  static constexpr uint64_t kGroup = 5;

  QueueFuzzHarness() { Open(); }

  broker::QueueStateMachine& queue() { return partition_->queue(); }
  ManualClock& clock() { return clock_; }

  // Applies one committed entry's bytes at the next index.
  const broker::ApplyResult* Apply(std::string_view bytes) {
    leveldb::WriteBatch batch;
    broker::LevelDbWriteBatch writer(&batch);
    result_ = partition_->Apply(raft::Index(++index_), bytes, writer);
    db_.Write(&batch);
    // An entry that is no command changes nothing, not even the applied
    // index (the host replays it after a restart, with the same result).
    internal::Command parsed;
    if (parsed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      FUZZ_CHECK(partition_->LastApplied() == raft::Index(index_));
    } else {
      FUZZ_CHECK(partition_->LastApplied() < raft::Index(index_));
    }
    return broker::QueueApplyResult(result_);
  }

  const broker::ApplyResult* Apply(internal::Command command) {
    command.set_log_time_micros(log_time_micros_);
    return Apply(command.SerializeAsString());
  }

  void Advance(absl::Duration d) {
    clock_.Advance(d);
    log_time_micros_ += absl::ToInt64Microseconds(d);
  }

  // The leader's receive: plan, then apply the grant (and dead-letter moves).
  void Receive(uint32_t max) {
    broker::ReceiveOptions options;
    options.max_messages = max;
    broker::ReceivePlan plan = queue().PlanReceive(options);
    if (plan.dead_letter.messages_size() > 0) {
      internal::Command c;
      *c.mutable_move_to_dead_letter() = plan.dead_letter;
      Apply(c);
    }
    if (plan.grant.grants_size() > 0) {
      internal::Command c;
      *c.mutable_grant() = plan.grant;
      if (const broker::ApplyResult* r = Apply(c)) {
        for (const broker::LeasedMessage& m : r->leased) leased_.push_back(m);
      }
    }
  }

  // Deletes, changes the visibility of, or nacks a message leased earlier.
  void UseLease(uint8_t which, uint8_t how) {
    if (leased_.empty()) return;
    const broker::LeasedMessage m = leased_[which % leased_.size()];
    internal::ReceiptRef ref;
    ref.set_sequence(m.seq.value());
    ref.set_receive_count(m.receive_count);
    internal::Command c;
    switch (how % 3) {
      case 0:
        *c.mutable_delete_()->add_receipts() = ref;
        break;
      case 1: {
        auto* change = c.mutable_change_visibility()->add_changes();
        *change->mutable_receipt() = ref;
        change->set_timeout_micros((how / 3) * 1'000'000);
        break;
      }
      default:
        *c.mutable_nack()->add_entries()->mutable_receipt() = ref;
        break;
    }
    Apply(c);
  }

  // Every query the leader and the API run; none may crash, and what Peek
  // lists must be readable.
  void Query() {
    queue().Stats(absl::FromUnixMicros(log_time_micros_));
    for (broker::MessageSeq seq : queue().Peek(broker::MessageSeq(0), 8)) {
      absl::StatusOr<broker::StoredMessage> m = queue().ReadMessage(seq);
      FUZZ_CHECK(m.ok()) << "peeked message " << seq.value()
                         << " unreadable: " << m.status();
    }
    for (const broker::OutboxEntry& e : queue().Outbox(4)) {
      (void)queue().BuildMoveBatch(e.destination, 4);
    }
    queue().PlanRedrive(4);
    queue().NextRetentionDue();
    queue().Redrive();
    queue().GroupStats("g");
  }

  // A restart: the state machine rebuilt from the DB holds the same state.
  void Reopen() {
    absl::StatusOr<std::string> before = queue().Digest();
    db_.Reopen();
    Open();
    absl::StatusOr<std::string> after = queue().Digest();
    FUZZ_CHECK(before.ok() == after.ok());
    if (before.ok()) {
      FUZZ_CHECK(*before == *after) << "state changed across a reopen";
    }
    leased_.clear();
  }

  // Phase 1 and 2 of a restore from `data`, as the host runs them. Returns
  // whether the restore happened; a rejected restore leaves the state as it
  // was (the host drops the batch).
  bool Restore(std::string_view data) {
    leveldb::WriteBatch batch;
    broker::LevelDbWriteBatch writer(&batch);
    // The host asks CheckSnapshot before Raft installs a snapshot; it must
    // agree with what the restore itself accepts.
    const absl::Status checked = partition_->CheckSnapshot(data);
    const absl::Status prepared = partition_->PrepareRestore(data, writer);
    FUZZ_CHECK(checked.ok() == prepared.ok())
        << "CheckSnapshot: " << checked << "; PrepareRestore: " << prepared;
    if (!prepared.ok()) return false;
    db_.Write(&batch);
    absl::Status s = partition_->FinishRestore();
    // The host cannot go back once the batch is written: a failure here
    // crashes it (Replica::FinishRestore), so PrepareRestore must reject
    // whatever FinishRestore cannot load.
    FUZZ_CHECK(s.ok()) << "PrepareRestore accepted a snapshot that "
                          "FinishRestore cannot load: "
                       << s;
    index_ = partition_->LastApplied().value();
    leased_.clear();
    return true;
  }

  // The snapshot of this partition, as the host streams it.
  std::string Snapshot() {
    absl::StatusOr<std::unique_ptr<broker::SnapshotSource>> source =
        partition_->OpenSnapshot();
    FUZZ_CHECK(source.ok()) << source.status();
    std::string data;
    for (;;) {
      absl::StatusOr<std::optional<std::string>> chunk =
          (*source)->NextChunk(512);
      FUZZ_CHECK(chunk.ok()) << chunk.status();
      if (!chunk->has_value()) break;
      data += **chunk;
    }
    return data;
  }

  // This partition's snapshot restored on a fresh replica gives the same
  // state.
  void CheckSnapshotRoundTrip() {
    const std::string data = Snapshot();
    QueueFuzzHarness other;
    FUZZ_CHECK(other.Restore(data)) << "a partition's own snapshot rejected";
    absl::StatusOr<std::string> mine = queue().Digest();
    absl::StatusOr<std::string> theirs = other.queue().Digest();
    FUZZ_CHECK(mine.ok() && theirs.ok());
    FUZZ_CHECK(*mine == *theirs) << "snapshot restore changed the state";
  }

  // Runs ops until the input ends (queue_command_fuzzer.cc lists them).
  void Run(ByteReader& in);

 private:
  void Open() {
    absl::StatusOr<std::unique_ptr<broker::QueuePartition>> p =
        broker::QueuePartition::Open(raft::GroupId(kGroup), db_.db(), &clock_);
    // The records in the DB were all written by Apply or a checked restore.
    FUZZ_CHECK(p.ok()) << "partition does not reopen: " << p.status();
    partition_ = std::move(*p);
  }

  MemDb db_;
  ManualClock clock_{absl::FromUnixSeconds(1000)};
  int64_t log_time_micros_ = 1'800'000'000'000'000;
  uint64_t index_ = 0;
  std::unique_ptr<broker::QueuePartition> partition_;
  std::any result_;
  std::vector<broker::LeasedMessage> leased_;
};

// Ops (one byte % 8, then its arguments):
//   0-2 apply an entry [frame]     3 receive [max:1]
//   4 use a lease [which:1 how:1]  5 advance the clock [seconds:1]
//   6 queries                      7 reopen / snapshot round trip [which:1]
inline void QueueFuzzHarness::Run(ByteReader& in) {
  int ops = 0;
  while (!in.empty() && ops++ < 200) {
    switch (in.U8() % 8) {
      case 0:
      case 1:
      case 2:
        Apply(in.Bytes());
        break;
      case 3:
        Receive(1 + in.U8() % 8);
        break;
      case 4: {
        const uint8_t which = in.U8();
        UseLease(which, in.U8());
        break;
      }
      case 5:
        Advance(absl::Seconds(in.U8()));
        break;
      case 6:
        Query();
        break;
      default:
        if (in.U8() % 2 == 0) {
          Reopen();
        } else {
          CheckSnapshotRoundTrip();
        }
        break;
    }
  }
}

}  // namespace sluice::fuzz

#endif  // SLUICE_TESTS_FUZZ_QUEUE_FUZZ_HARNESS_H_
