// ProposalTracker: the proposals a leader made in one group and is waiting
// to see applied, keyed by the (index, term) the core gave their entries.
// Log matching makes (index, term) name one entry for the whole life of the
// group, so an applied entry with our index but another term means our
// entry was overwritten by a new leader: that proposal fails, and no other
// proposal's callback ever sees its result. The map lives in memory only; a
// restarted node has no proposals to confuse with its old entries.
//
// Owned by a Replica; event-loop thread only.
#ifndef SLUICE_BROKER_HOST_PROPOSAL_TRACKER_H_
#define SLUICE_BROKER_HOST_PROPOSAL_TRACKER_H_

#include <any>
#include <cstddef>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/types.h"

namespace sluice::broker {

// What a successful proposal's callback gets: the entry's index and the
// state machine's result (std::any: QueueApplyResult() reads a queue's).
struct Applied {
  raft::Index index;
  std::any result;
};
using ProposeCallback = absl::AnyInvocable<void(absl::StatusOr<Applied>) &&>;

// A callback together with its outcome, ready to run.
struct Resolved {
  ProposeCallback callback;
  absl::StatusOr<Applied> outcome;
  void Run() && { std::move(callback)(std::move(outcome)); }
};

class ProposalTracker {
 public:
  size_t size() const { return pending_.size(); }

  // A proposal whose entry the core appended at (index, term).
  void Add(raft::Index index, raft::Term term, ProposeCallback callback);

  // The entry (index, term) was applied with `result`. Appends to `out` the
  // proposal it answers (if ours) and any proposal at or below `index` that
  // it shows overwritten (failed with `overwritten`).
  void OnApplied(raft::Index index, raft::Term term, std::any& result,
                 const absl::Status& overwritten, std::vector<Resolved>* out);

  // Fails every proposal not of `term` (all of them when `leader` is false):
  // leadership was lost before they were applied.
  void FailStale(bool leader, raft::Term term, const absl::Status& status,
                 std::vector<Resolved>* out);
  void FailAll(const absl::Status& status, std::vector<Resolved>* out);
  // Whether FailStale(leader, term) would fail anything.
  bool HasStale(bool leader, raft::Term term) const;

 private:
  struct Pending {
    raft::Term term;
    ProposeCallback callback;
  };
  absl::btree_map<raft::Index, Pending> pending_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_PROPOSAL_TRACKER_H_
