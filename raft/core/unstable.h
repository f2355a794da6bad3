// Unstable: the tail of the log (and possibly a snapshot) that the core holds
// in memory because the host has not yet reported it durable. Entries handed
// to the host in a Ready are "in progress" until Advance reports them stable.
// Owned by RaftLog; single-threaded.
#ifndef SLUICE_RAFT_CORE_UNSTABLE_H_
#define SLUICE_RAFT_CORE_UNSTABLE_H_

#include <optional>
#include <vector>

#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft {

class Unstable {
 public:
  using Entry = sluice::internal::raft::Entry;
  using Snapshot = sluice::internal::raft::Snapshot;

  explicit Unstable(Index offset) : offset_(offset), in_progress_(offset) {}

  // First index held, if a snapshot is pending (snapshot index + 1).
  std::optional<Index> MaybeFirstIndex() const;
  std::optional<Index> MaybeLastIndex() const;
  std::optional<Term> MaybeTerm(Index index) const;

  // Entries / snapshot not yet handed to the host.
  std::vector<Entry> NextEntries() const;
  std::optional<Snapshot> NextSnapshot() const;
  // Marks everything currently held as handed to the host.
  void AcceptInProgress();

  // The host made entries up to (index, term) durable. Ignored when the entry
  // at `index` no longer has `term` (it was overwritten meanwhile).
  void StableTo(Index index, Term term);
  void StableSnapTo(Index index);

  void Restore(const Snapshot& snapshot);
  // Appends, replacing any held entries at and after entries.front().index.
  void TruncateAndAppend(const std::vector<Entry>& entries);
  // Entries in [lo, hi); the range must be held.
  std::vector<Entry> Slice(Index lo, Index hi) const;

  Index offset() const { return offset_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }

 private:
  std::optional<Snapshot> snapshot_;
  bool snapshot_in_progress_ = false;
  std::vector<Entry> entries_;
  Index offset_;       // index of entries_[0]
  Index in_progress_;  // entries before this index were handed out
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_UNSTABLE_H_
