// RaftLog: one node's view of its log — durable entries (through the
// read-only LogStorage), entries not yet durable (Unstable), and the commit
// and apply points. Owned by the Raft core; single-threaded.
//
//   storage.FirstIndex()     unstable.offset()          LastIndex()
//        |  durable (LogStorage)   |   unstable (memory)   |
//   .....[=========================|=======================]
//                  ^ applied   ^ committed
#ifndef SLUICE_RAFT_CORE_RAFT_LOG_H_
#define SLUICE_RAFT_CORE_RAFT_LOG_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "raft/core/unstable.h"
#include "raft/storage/log_storage.h"
#include "raft/types.h"

namespace sluice::raft {

class RaftLog {
 public:
  using Entry = sluice::internal::raft::Entry;
  using Snapshot = sluice::internal::raft::Snapshot;

  // `storage` is borrowed and must outlive the log. `applied` is where the
  // host's state machine is (0 for a new node).
  RaftLog(const LogStorage* storage, GroupId group, Index applied);

  Index FirstIndex() const;
  Index LastIndex() const;
  // Term of the entry at `index`: CompactedError below FirstIndex() - 1,
  // UnavailableError above LastIndex().
  absl::StatusOr<Term> TermAt(Index index) const;
  // TermAt, with 0 for any index whose term is unknown.
  Term TermOrZero(Index index) const;
  Term LastTerm() const { return TermOrZero(LastIndex()); }
  bool MatchTerm(Index index, Term term) const;
  // Thesis §3.6.1: a candidate's log is at least as up to date as ours.
  bool IsUpToDate(Index last_index, Term last_term) const;

  // Follower side of AppendEntries (thesis §3.5). Returns the last index of
  // the new entries, or nullopt if the entry at `prev` does not have
  // `prev_term`. Crashes if a committed entry would be overwritten.
  std::optional<Index> MaybeAppend(Index prev, Term prev_term, Index commit,
                                   const std::vector<Entry>& entries);
  // Leader side: appends after LastIndex(). Returns the new LastIndex().
  Index Append(const std::vector<Entry>& entries);
  // Largest index <= `index` whose term is <= `term` (fast backtracking).
  // Returns (index, term); term is 0 when unknown (compacted).
  std::pair<Index, Term> FindConflictByTerm(Index index, Term term) const;

  // Entries in [lo, hi), at most max_bytes (0: no limit) but at least one.
  absl::StatusOr<std::vector<Entry>> Slice(Index lo, Index hi,
                                           uint64_t max_bytes) const;
  absl::StatusOr<std::vector<Entry>> EntriesFrom(Index lo,
                                                 uint64_t max_bytes) const;

  // Leader commit rule (thesis §3.6.2, Figure 8): advances commit to `index`
  // only if that entry is from `term` (the leader's current term).
  bool MaybeCommit(Index index, Term term);
  void CommitTo(Index index);
  // The next committed entries to hand to the host (after those in progress).
  bool HasNextCommittedEntries() const;
  std::vector<Entry> NextCommittedEntries(uint64_t max_bytes) const;
  // Committed entries up to `index` were handed to the host.
  void AcceptApplying(Index index);
  void AppliedTo(Index index);

  // The snapshot to send to a follower: the storage's latest.
  absl::StatusOr<sluice::internal::raft::SnapshotMetadata> SnapshotMetadata()
      const;
  // Follower: replaces the log with a snapshot from the leader.
  void Restore(const Snapshot& snapshot);

  // Index up to which our own log is known durable (the leader counts itself
  // toward a quorum only up to here).
  Index DurableLastIndex() const;

  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  Index applying() const { return applying_; }
  Unstable& unstable() { return unstable_; }
  const Unstable& unstable() const { return unstable_; }
  std::string DebugString() const;

 private:
  // First index of `entries` that conflicts with (or extends) our log; 0 if
  // all are already present.
  Index FindConflict(const std::vector<Entry>& entries) const;

  const LogStorage* storage_;
  GroupId group_;
  Unstable unstable_;
  Index committed_;
  Index applying_;  // highest index handed to the host to apply
  Index applied_;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_RAFT_LOG_H_
