// ReplicaStateMachine: what one Raft group's state machine offers the
// multi-Raft host (NodeHost). The host feeds it committed entries in log
// order, persists its writes in the same synced LevelDB batch as the Raft
// log, snapshots it for slow followers and restores it from a leader's
// snapshot. Two kinds exist on a node: the queue partition (QueuePartition,
// wrapping QueueStateMachine) and the metadata group's state machine.
//
// Rules the host follows, which an implementation may rely on:
// - Only normal entries with non-empty data reach Apply (conf changes and a
//   new leader's empty entry are the host's business), in increasing index
//   order, and only those with index > LastApplied(): after a restart or a
//   restore the host skips what the state machine already holds.
// - Apply's writes go into `batch`; the host writes the batch (with the Raft
//   records of the same loop iteration) before it replies to the proposer.
//   So reads from the DB may lag the in-memory state by one unwritten batch.
// - A snapshot's data must cover AT LEAST the index of the Raft snapshot
//   metadata it travels with (it may cover more): OpenSnapshot reads the
//   durable state, which the host writes atomically with that metadata.
// - Restore is two-phase: PrepareRestore fills a batch while no write of this
//   state machine is in flight or pending; FinishRestore runs once the batch
//   is durable and reloads the in-memory state.
//
// Owned by the host; every method is called on the host's event-loop thread.
#ifndef SLUICE_BROKER_HOST_REPLICA_STATE_MACHINE_H_
#define SLUICE_BROKER_HOST_REPLICA_STATE_MACHINE_H_

#include <any>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/queue/state_write_batch.h"
#include "leveldb/db.h"
#include "raft/types.h"

namespace sluice::broker {

// Reads one snapshot's data as a byte stream, in pieces. Created on the
// loop thread; afterwards used by one thread at a time (a transport's), and
// must not touch the state machine that made it (it reads a pinned DB
// snapshot). The concatenation of all chunks is the data PrepareRestore
// takes.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  // The next piece, at most about max_bytes (at least one byte); nullopt
  // after the last.
  virtual absl::StatusOr<std::optional<std::string>> NextChunk(
      size_t max_bytes) = 0;
};

class ReplicaStateMachine {
 public:
  virtual ~ReplicaStateMachine() = default;

  // The highest log index whose effects this state machine holds (0 for a
  // new one). Restored with it after a restart or a snapshot.
  virtual raft::Index LastApplied() const = 0;

  // Applies one committed entry. The result goes to the proposer's callback
  // (on the leader that proposed it); bad input is reported in the result,
  // never by crashing.
  virtual std::any Apply(raft::Index index, std::string_view data,
                         StateWriteBatch& batch) = 0;

  // A consistent snapshot of the state as written to the DB so far.
  virtual absl::StatusOr<std::unique_ptr<SnapshotSource>> OpenSnapshot() = 0;

  // Whether PrepareRestore and FinishRestore would take `data` (a snapshot
  // from a peer). The host asks before it lets Raft install a snapshot:
  // after that, a restore can no longer be refused.
  virtual absl::Status CheckSnapshot(std::string_view data) const {
    (void)data;
    return absl::OkStatus();
  }

  // Phase 1 of a restore: clear the old state and write `data` into batch.
  virtual absl::Status PrepareRestore(std::string_view data,
                                      StateWriteBatch& batch) = 0;
  // Phase 2: the batch is durable; reload the in-memory state from the DB.
  virtual absl::Status FinishRestore() = 0;

  // Deletes all of the state (the group leaves this node). No write of this
  // state machine is in flight or pending when it is called.
  virtual absl::Status Destroy(StateWriteBatch& batch) = 0;
  // The same in steps of at most about `max_records` deletions, so that a
  // large state does not hold the node's loop (and one huge write) for
  // seconds: the host calls it again, once the previous step is durable,
  // until it returns true. The default deletes everything in one step.
  virtual absl::StatusOr<bool> DestroySome(StateWriteBatch& batch,
                                           size_t max_records) {
    (void)max_records;
    if (absl::Status s = Destroy(batch); !s.ok()) return s;
    return true;
  }
};

// Builds (or reopens, from what the DB holds) the state machine of `group`.
// `kind` is the string given when the group was created (e.g. "queue"), kept
// by the host so that a restart rebuilds the same kind. Called on the loop
// thread.
using StateMachineFactory =
    absl::AnyInvocable<absl::StatusOr<std::unique_ptr<ReplicaStateMachine>>(
        raft::GroupId group, const std::string& kind, leveldb::DB* db)>;

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_REPLICA_STATE_MACHINE_H_
