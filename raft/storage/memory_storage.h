// MemoryStorage: a LogStorage held in memory, for tests and the simulation.
// Besides the read-only LogStorage view it has the write side a host uses when
// it processes a Ready: Append, SetHardState, ApplySnapshot, CreateSnapshot,
// Compact, SetConfState. Everything written counts as durable at once; a
// simulation that models lost unsynced writes wraps or copies it.
// Not thread-safe: one owner thread (the host, or the simulation).
#ifndef SLUICE_RAFT_STORAGE_MEMORY_STORAGE_H_
#define SLUICE_RAFT_STORAGE_MEMORY_STORAGE_H_

#include <string>
#include <vector>

#include "raft/storage/log_storage.h"

namespace sluice::raft {

class MemoryStorage : public LogStorage {
 public:
  using Entry = sluice::internal::raft::Entry;
  using HardState = sluice::internal::raft::HardState;
  using ConfState = sluice::internal::raft::ConfState;
  using Snapshot = sluice::internal::raft::Snapshot;

  // An empty log whose membership is `conf_state` (a new group's voters).
  explicit MemoryStorage(ConfState conf_state = ConfState());

  absl::StatusOr<InitialState> GetInitialState() const override;
  absl::StatusOr<std::vector<Entry>> Entries(Index lo, Index hi,
                                             uint64_t max_bytes) const override;
  absl::StatusOr<Term> TermAt(Index index) const override;
  Index FirstIndex() const override;
  Index LastIndex() const override;
  absl::StatusOr<sluice::internal::raft::SnapshotMetadata> SnapshotMetadata()
      const override;

  void SetHardState(const HardState& hs) { hard_state_ = hs; }
  // The membership in force at the applied index (returned by
  // RawNode::ApplyConfChange); reported by GetInitialState on restart.
  void SetConfState(const ConfState& cs) { conf_state_ = cs; }
  // Appends entries, replacing any held at and after entries.front().index.
  // InvalidArgument if that would leave a gap; entries at or before the
  // snapshot index are skipped.
  absl::Status Append(const std::vector<Entry>& entries);
  // Installs a snapshot received from the leader: drops every entry.
  // FailedPrecondition if it is older than the current snapshot.
  absl::Status ApplySnapshot(const Snapshot& snapshot);
  // Records that the state machine captured everything up to `index` (the
  // host keeps the data); `index` must be held. Enables Compact(index).
  absl::Status CreateSnapshot(Index index, const ConfState& cs,
                              std::string data);
  // Drops entries up to `index` (the host compacts behind its applied index
  // and its latest snapshot). CompactedError if already compacted.
  absl::Status Compact(Index index);

  // Data saved by CreateSnapshot/ApplySnapshot (the transport would stream
  // it from the state machine; tests read it here).
  const Snapshot& snapshot() const { return snapshot_; }
  const HardState& hard_state() const { return hard_state_; }

 private:
  Index offset() const { return Index(entries_.front().index()); }

  HardState hard_state_;
  ConfState conf_state_;
  Snapshot snapshot_;
  // entries_[0] is a dummy holding the snapshot's (index, term).
  std::vector<Entry> entries_;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_STORAGE_MEMORY_STORAGE_H_
