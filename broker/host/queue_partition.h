// QueuePartition: the ReplicaStateMachine of one queue partition, adapting
// QueueStateMachine (broker/queue/) to the host. Entry data is a serialized
// internal::Command; Apply's result (std::any) holds a broker::ApplyResult,
// read it with QueueApplyResult().
//
// Snapshot data is the queue's own chunks (snapshot.h), each framed by its
// length (4 bytes big-endian) so that the byte stream can be cut anywhere by
// the transport and split again on restore.
//
// Owned by the host; loop thread only (see replica_state_machine.h).
#ifndef SLUICE_BROKER_HOST_QUEUE_PARTITION_H_
#define SLUICE_BROKER_HOST_QUEUE_PARTITION_H_

#include <any>
#include <memory>

#include "base/clock.h"
#include "broker/host/replica_state_machine.h"
#include "broker/queue/queue_state_machine.h"

namespace sluice::broker {

// The kind string under which queue partitions are created.
inline constexpr char kQueuePartitionKind[] = "queue";

class QueuePartition final : public ReplicaStateMachine {
 public:
  // Opens the partition of `group` from the records `db` holds. `clock`
  // (monotonic, for lease deadlines) must outlive the partition.
  static absl::StatusOr<std::unique_ptr<QueuePartition>> Open(
      raft::GroupId group, leveldb::DB* db, const Clock* clock);

  raft::Index LastApplied() const override;
  std::any Apply(raft::Index index, std::string_view data,
                 StateWriteBatch& batch) override;
  absl::StatusOr<std::unique_ptr<SnapshotSource>> OpenSnapshot() override;
  absl::Status CheckSnapshot(std::string_view data) const override;
  absl::Status PrepareRestore(std::string_view data,
                              StateWriteBatch& batch) override;
  absl::Status FinishRestore() override;
  absl::Status Destroy(StateWriteBatch& batch) override;
  absl::StatusOr<bool> DestroySome(StateWriteBatch& batch,
                                   size_t max_records) override;

  // The wrapped state machine, for the leader's planning and for queries.
  QueueStateMachine& queue() { return *queue_; }

 private:
  QueuePartition(QueueOptions options, std::unique_ptr<QueueStateMachine> queue)
      : options_(std::move(options)), queue_(std::move(queue)) {}

  QueueOptions options_;
  std::unique_ptr<QueueStateMachine> queue_;
  std::string destroy_cursor_;  // DestroySome: the last key deleted
};

// The ApplyResult inside a QueuePartition's apply result; nullptr if `result`
// holds something else (an entry that was not a valid Command gives an
// ApplyResult with an INVALID_ARGUMENT status).
const ApplyResult* QueueApplyResult(const std::any& result);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_QUEUE_PARTITION_H_
