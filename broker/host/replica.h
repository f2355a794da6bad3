// Replica: one Raft group as hosted on this node: its RawNode, durable log
// (LevelDbLogStorage), state machine and the leader's pending proposals,
// plus the bookkeeping NodeHost keeps for its writes. Replica knows how to
// start the core from storage, apply committed entries (conf changes to the
// core, the rest to the state machine, skipping what the state machine
// already holds) and when a local snapshot is due; NodeHost decides what to
// write and when (node_host.cc).
//
// Owned by NodeHost; event-loop thread only.
#ifndef SLUICE_BROKER_HOST_REPLICA_H_
#define SLUICE_BROKER_HOST_REPLICA_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/random.h"
#include "broker/host/group_status.h"
#include "broker/host/proposal_tracker.h"
#include "broker/host/replica_state_machine.h"
#include "leveldb/write_batch.h"
#include "raft/core/raw_node.h"
#include "raft/leveldb/leveldb_log_storage.h"

namespace sluice::broker {

class Replica {
 public:
  using Entry = sluice::internal::raft::Entry;
  using SnapshotMetadata = sluice::internal::raft::SnapshotMetadata;

  Replica(raft::GroupId group, std::string kind,
          std::unique_ptr<ReplicaStateMachine> sm,
          raft::LevelDbLogStorage* storage);

  // Builds the core from what storage holds. The core restarts at the
  // stored snapshot's index (where storage's ConfState is right) and hands
  // back every committed entry after it: conf changes are applied again,
  // entries the state machine holds are skipped.
  absl::Status Start(raft::Config config, uint64_t seed);
  bool started() const { return raw_ != nullptr; }

  raft::GroupId group() const { return group_; }
  const std::string& kind() const { return kind_; }
  // Mutable access to the core may create work, so it unsettles the group.
  raft::RawNode& raw() {
    settled_ = false;
    return *raw_;
  }
  const raft::RawNode& raw() const { return *raw_; }
  // Read-only access for callers holding a non-const Replica.
  const raft::RawNode& core() const { return *raw_; }
  ReplicaStateMachine& sm() { return *sm_; }
  ProposalTracker& proposals() { return proposals_; }
  raft::Index applied() const { return applied_; }
  bool is_leader() const;

  // Applies committed entries in order (their writes go to sm_batch, the
  // answers to our proposals to `waiting`).
  void ApplyCommitted(const std::vector<Entry>& entries);
  // A received snapshot is durable: reload the state machine and move
  // applied to the snapshot.
  void FinishRestore(const SnapshotMetadata& meta);
  // Snapshot metadata at the applied index, when `compact_after` entries
  // were applied since the stored snapshot.
  std::optional<SnapshotMetadata> CompactionDue(uint64_t compact_after) const;
  // Proposals of a term this replica no longer leads are kept for `grace`
  // after the loss was first seen: the new leader usually commits them (a
  // graceful transfer always does), and then they complete with their
  // result, or fail as overwritten when another entry is applied at their
  // index. After `grace` the rest fail with LeadershipLostError (outcome
  // unknown).
  void FailStaleProposals(absl::Time now, absl::Duration grace,
                          std::vector<Resolved>* out);

  GroupStatus Status() const;
  size_t pending_proposals() const { return proposals_.size(); }

  // The idle fast path. A settled group is quiesced and the host holds
  // nothing of it (no Ready, write, answer or proposal in hand): the loop
  // neither ticks it nor looks for its Ready, so a thousand idle groups cost
  // next to nothing. Settle() is called by the write path when that holds;
  // any mutable raw() access ends it.
  bool settled() const { return settled_; }
  void Settle() { settled_ = true; }

  // NodeHost's write bookkeeping, read and written by node_host.cc only.
  leveldb::WriteBatch sm_batch;       // apply writes not yet submitted
  std::vector<Resolved> waiting;      // answers whose writes are in sm_batch
  int inflight_writes = 0;            // submitted requests touching this group
  bool ready_outstanding = false;     // GetReady called, Advance not yet
  std::optional<raft::Ready> parked;  // taken Ready not yet submitted
  bool restoring = false;  // a received snapshot's write is in flight
  bool removing = false;
  bool destroy_started = false;  // its group record is deleted
  raft::Index durable_applied;
  raft::Index snapshot_index;  // stored (or being stored) snapshot
  raft::SoftState last_soft;

 private:
  const raft::GroupId group_;
  const std::string kind_;
  std::unique_ptr<ReplicaStateMachine> sm_;
  raft::LevelDbLogStorage* const storage_;
  std::unique_ptr<Random> random_;
  std::unique_ptr<raft::RawNode> raw_;
  ProposalTracker proposals_;
  sluice::internal::raft::ConfState conf_state_;
  raft::Index applied_;
  raft::Term applied_term_;
  // When the proposals in flight first belonged to a lost leadership.
  std::optional<absl::Time> stale_since_;
  bool settled_ = false;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_REPLICA_H_
