// Progress: the leader's view of one peer's log (thesis §3.5, etcd's
// probe/replicate/snapshot states). Owned by the ProgressTracker of the
// leader's core; single-threaded.
//
//            +------------------ reject / unreachable ---------------+
//            v                                                       |
//   +-------------+  ack (match advances)  +---------------+         |
//   |    Probe    | ---------------------> |   Replicate   | --------+
//   | 1 msg, wait | <--------------------- |  pipelined,   |
//   +-------------+   snapshot done/failed |  window-bound |
//      |     ^                             +---------------+
//      | needs compacted entries                |
//      v     |                                  | needs compacted entries
//   +-------------+ <---------------------------+
//   |  Snapshot   |   (no appends until the snapshot is reported)
//   +-------------+
#ifndef SLUICE_RAFT_CORE_PROGRESS_H_
#define SLUICE_RAFT_CORE_PROGRESS_H_

#include <algorithm>
#include <string>

#include "raft/core/inflights.h"
#include "raft/types.h"

namespace sluice::raft {

enum class ProgressState { kProbe, kReplicate, kSnapshot };
const char* ProgressStateName(ProgressState state);

class Progress {
 public:
  Progress(Index next, size_t max_inflight_msgs, uint64_t max_inflight_bytes)
      : next_(next), inflights_(max_inflight_msgs, max_inflight_bytes) {}

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(Index snapshot_index);

  // An acknowledgement that the peer's log matches ours up to `index`.
  // Returns true if match advanced.
  bool MaybeUpdate(Index index);
  // Bookkeeping after sending an APPEND with `count` entries of `bytes`
  // following `next - 1`.
  void SentEntries(size_t count, uint64_t bytes);
  // A rejection of the APPEND whose preceding index was `rejected`; the peer
  // hints its log may match up to `match_hint`. Returns false when the
  // rejection is stale (answers an older probe).
  bool MaybeDecrTo(Index rejected, Index match_hint);
  // True when nothing more may be sent now.
  bool IsPaused() const;

  Index match() const { return match_; }
  Index next() const { return next_; }
  ProgressState state() const { return state_; }
  Index pending_snapshot() const { return pending_snapshot_; }
  bool recent_active() const { return recent_active_; }
  void set_recent_active(bool active) { recent_active_ = active; }
  bool is_learner() const { return is_learner_; }
  void set_is_learner(bool learner) { is_learner_ = learner; }
  // Set after a probe is sent; cleared by any response (or heartbeat reply).
  void set_probe_sent(bool sent) { probe_sent_ = sent; }
  // Highest commit index sent to the peer (so the leader can tell it about a
  // newer commit without waiting for the next heartbeat).
  Index sent_commit() const { return sent_commit_; }
  void set_sent_commit(Index commit) {
    sent_commit_ = std::max(sent_commit_, commit);
  }
  const Inflights& inflights() const { return inflights_; }
  Inflights& mutable_inflights() { return inflights_; }
  std::string DebugString() const;

 private:
  void ResetState(ProgressState state);

  Index match_;
  Index next_;
  ProgressState state_ = ProgressState::kProbe;
  Index pending_snapshot_;
  Index sent_commit_;
  bool recent_active_ = false;
  bool probe_sent_ = false;
  bool is_learner_ = false;
  Inflights inflights_;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_PROGRESS_H_
