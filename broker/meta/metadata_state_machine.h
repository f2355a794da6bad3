// The cluster metadata state machine (the metadata Raft group, group 1):
// nodes, queues and where their partitions live. Deterministic: commands
// carry the leader's log time and the placement. The state is small, so it
// is kept whole in memory and written whole under one key after each apply;
// the snapshot is that record.
//
// Loop thread only, like every ReplicaStateMachine.
#ifndef SLUICE_BROKER_META_METADATA_STATE_MACHINE_H_
#define SLUICE_BROKER_META_METADATA_STATE_MACHINE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/host/replica_state_machine.h"
#include "sluice/internal/metadata.pb.h"

namespace sluice::meta {

// What Apply hands back to the proposer (inside the std::any).
struct MetadataApplyResult {
  absl::Status status;
  sluice::internal::QueueRecord queue;  // the queue as stored (or removed)
};

class MetadataStateMachine final : public broker::ReplicaStateMachine {
 public:
  // Called after every applied command with the new state (loop thread).
  using ChangeObserver =
      std::function<void(const sluice::internal::MetadataState&)>;

  static absl::StatusOr<std::unique_ptr<MetadataStateMachine>> Open(
      leveldb::DB* db);

  void set_observer(ChangeObserver observer) {
    observer_ = std::move(observer);
  }
  const sluice::internal::MetadataState& state() const { return state_; }
  const sluice::internal::QueueRecord* FindQueue(const std::string& name) const;

  raft::Index LastApplied() const override;
  std::any Apply(raft::Index index, std::string_view data,
                 broker::StateWriteBatch& batch) override;
  absl::StatusOr<std::unique_ptr<broker::SnapshotSource>> OpenSnapshot()
      override;
  absl::Status CheckSnapshot(std::string_view data) const override;
  absl::Status PrepareRestore(std::string_view data,
                              broker::StateWriteBatch& batch) override;
  absl::Status FinishRestore() override;
  absl::Status Destroy(broker::StateWriteBatch& batch) override;

 private:
  explicit MetadataStateMachine(leveldb::DB* db) : db_(db) {}
  absl::Status Load();
  MetadataApplyResult ApplyCommand(
      const sluice::internal::MetadataCommand& command);
  MetadataApplyResult CreateQueue(const sluice::internal::CreateQueueCommand& c,
                                  int64_t log_time_micros);
  MetadataApplyResult UpdateQueue(const sluice::internal::UpdateQueueCommand& c,
                                  int64_t log_time_micros);
  MetadataApplyResult DeleteQueue(
      const sluice::internal::DeleteQueueCommand& c);

  leveldb::DB* db_;
  sluice::internal::MetadataState state_;
  ChangeObserver observer_;
};

// Reads the result of a metadata proposal (the host's std::any).
const MetadataApplyResult* MetadataResult(const std::any& result);

}  // namespace sluice::meta

#endif  // SLUICE_BROKER_META_METADATA_STATE_MACHINE_H_
