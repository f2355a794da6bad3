// GroupLog: the in-memory shape of one group's stored log, without the
// entries themselves: where it starts and ends, the term of every index (run
// length encoded, since terms change rarely), the hard state and the latest
// snapshot metadata. It is what makes TermAt, FirstIndex and LastIndex free of
// I/O.
//
// The mutations check the rules of Raft storage and say which stored entries
// become garbage; the caller (the storage writer, or recovery) turns that into
// LevelDB deletes. A plain value: not thread-safe, cheap to copy (its size is
// the number of distinct terms in the log).
#ifndef SLUICE_RAFT_LEVELDB_GROUP_LOG_H_
#define SLUICE_RAFT_LEVELDB_GROUP_LOG_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft::ldb {

// Stored entries [from, to] (inclusive) that a mutation made obsolete; empty
// when from > to.
struct IndexRange {
  Index from{1};
  Index to{0};
  bool empty() const { return from > to; }
};

class GroupLog {
 public:
  explicit GroupLog(GroupId group) : group_(group) {}

  GroupId group() const { return group_; }
  // The log holds entries (start_index, last_index]. start_index is the last
  // compacted index (0 for a fresh log); its term is remembered.
  Index start_index() const { return start_index_; }
  Term start_term() const { return start_term_; }
  Index last_index() const { return last_index_; }
  const sluice::internal::raft::HardState& hard_state() const {
    return hard_state_;
  }
  const sluice::internal::raft::SnapshotMetadata& snapshot() const {
    return snapshot_;
  }
  // Not OK once recovery found a damaged record of this group: every read
  // and write of the group then fails with this status.
  const absl::Status& damage() const { return damage_; }

  // Term at `index`, for index in [start_index, last_index]; CompactedError
  // below, UnavailableError above.
  absl::StatusOr<Term> TermAt(Index index) const;

  // Appends entries first, first+1, ... with `terms`, replacing any stored
  // suffix from `first` on (a conflicting suffix). `first` must lie in
  // (start_index, last_index + 1] and terms must not decrease. Returns the
  // entries past the new end that are now garbage.
  absl::StatusOr<IndexRange> Append(Index first, absl::Span<const Term> terms);

  // Records newer snapshot metadata (index must exceed the current one). If
  // the log holds the snapshot's (index, term) the log is kept (Raft thesis
  // §5.4.1: retain entries following it); otherwise the snapshot replaces the
  // whole log, which then starts after the snapshot. Returns discarded
  // entries.
  absl::StatusOr<IndexRange> InstallSnapshot(
      const sluice::internal::raft::SnapshotMetadata& meta);

  // Drops entries up to `index`, which must not exceed the last index nor the
  // snapshot index (only what a snapshot covers may be forgotten). A no-op at
  // or below start_index. Returns the dropped entries.
  absl::StatusOr<IndexRange> CompactTo(Index index);

  void SetHardState(const sluice::internal::raft::HardState& state) {
    hard_state_ = state;
  }

  // Recovery only: the stored start and snapshot records, before any entry.
  void RestoreStart(Index index, Term term);
  void RestoreSnapshot(const sluice::internal::raft::SnapshotMetadata& meta) {
    snapshot_ = meta;
  }
  void MarkDamaged(absl::Status status);

 private:
  struct TermRun {
    Index first;  // first index with this term; runs until the next run
    Term term;
  };

  GroupId group_;
  Index start_index_{0};
  Term start_term_{0};
  Index last_index_{0};
  std::vector<TermRun> runs_;  // cover (start_index_, last_index_]
  sluice::internal::raft::HardState hard_state_;
  sluice::internal::raft::SnapshotMetadata snapshot_;
  absl::Status damage_;
};

}  // namespace sluice::raft::ldb

#endif  // SLUICE_RAFT_LEVELDB_GROUP_LOG_H_
