// The two ways PartitionOps reaches beyond its partition: proposing a command
// to the partition's Raft group, and copying outbox messages (dead-letter
// moves, redrive) to another queue. The node implements both over its
// multi-Raft host; tests implement them over a QueueStateMachine directly.
#ifndef SLUICE_BROKER_PARTITION_PROPOSER_H_
#define SLUICE_BROKER_PARTITION_PROPOSER_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/queue/queue_state_machine.h"
#include "sluice/internal/commands.pb.h"

namespace sluice::broker {

// Proposes commands to one partition's Raft log. Called only on the
// partition's event-loop thread; `done` runs on that thread too.
class Proposer {
 public:
  using Done = std::function<void(absl::StatusOr<ApplyResult>)>;

  virtual ~Proposer() = default;

  // Appends `command` (log_time_micros already stamped) to the log. `done`
  // runs exactly once: with the ApplyResult once the command is committed,
  // applied and its writes are durable (so its bodies can be read), or with
  // an error (UNAVAILABLE: leadership lost, the command may or may not be
  // applied later; RESOURCE_EXHAUSTED: too many pending proposals).
  virtual void Propose(internal::Command command, Done done) = 0;
};

// Copies a batch of moved messages (QueueStateMachine::BuildMoveBatch) to
// the queue named `destination`. Each entry carries moved_from and a
// producer sequence under the source partition's move producer id, so the
// destination deduplicates retries. The implementation routes FIFO entries
// by group id and standard entries by hash of moved_from.source_sequence
// (the same partition on every retry), and calls `done` with OK once every
// entry is applied there (new or duplicate). Called on the source
// partition's thread; `done` must run on it too.
class MoveSender {
 public:
  virtual ~MoveSender() = default;
  virtual void SendMoves(const std::string& destination,
                         internal::SendBatch batch,
                         std::function<void(absl::Status)> done) = 0;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_PARTITION_PROPOSER_H_
