// PeerLiveness: a helper for hosts that quiesce groups (raft/README.md,
// "Quiescence"): which peer nodes this node has heard from lately, counted
// in host ticks. Quiesced groups send nothing, so a dead leader's node would
// go unnoticed by its followers; instead the host sends a keepalive to each
// peer it sent nothing to during a tick, and a peer silent for
// `down_after_ticks` ticks is declared down: the host then wakes the groups
// it is a member of. Pure logic like the core (no clock, no I/O); one
// thread.
#ifndef SLUICE_RAFT_CORE_PEER_LIVENESS_H_
#define SLUICE_RAFT_CORE_PEER_LIVENESS_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "raft/types.h"

namespace sluice::raft {

// How many election timeouts of silence make a peer "down" for hosts that
// use PeerLiveness. More than one: waking a quiesced follower whose leader
// is in fact alive but was slow (a stalled loop, a busy machine) can cost a
// needless election if the followers time out before the leader hears a
// pre-vote and wakes; a dropped connection is reported at once anyway.
inline constexpr int kSilentElectionTimeouts = 3;

class PeerLiveness {
 public:
  explicit PeerLiveness(int down_after_ticks)
      : down_after_ticks_(down_after_ticks) {}

  // Something (messages or a keepalive) arrived from `peer`. True if the
  // peer was down until now.
  bool Heard(NodeId peer);
  // Something was sent to `peer` during the current tick.
  void Sent(NodeId peer) { sent_this_tick_.insert(peer); }

  struct TickResult {
    std::vector<NodeId> went_down;       // silent for too long
    std::vector<NodeId> need_keepalive;  // nothing sent this tick
  };
  // Ends a tick. `members` are the peer nodes of every hosted group; peers
  // that are no longer members are forgotten, new ones start as heard now.
  TickResult Tick(const absl::flat_hash_set<NodeId>& members);

  bool IsDown(NodeId peer) const { return down_.contains(peer); }

 private:
  const int down_after_ticks_;
  int64_t now_ = 0;  // ticks
  absl::flat_hash_map<NodeId, int64_t> last_heard_;
  absl::flat_hash_set<NodeId> down_;
  absl::flat_hash_set<NodeId> sent_this_tick_;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_PEER_LIVENESS_H_
