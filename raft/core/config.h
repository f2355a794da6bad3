// Config: everything a Raft core needs to know at construction. Built by the
// host, copied into the core; `random` is borrowed and must outlive the core.
#ifndef SLUICE_RAFT_CORE_CONFIG_H_
#define SLUICE_RAFT_CORE_CONFIG_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "base/random.h"
#include "raft/types.h"

namespace sluice::raft {

struct Config {
  NodeId id;      // this node, never kNoNode
  GroupId group;  // written on every outgoing message and checked on input

  // An election starts after a randomized timeout in
  // [election_tick, 2 * election_tick) ticks without hearing from a leader
  // (thesis §3.4). heartbeat_tick < election_tick.
  int election_tick = 10;
  int heartbeat_tick = 1;
  // Source of election jitter; seeded by the host so runs replay. Required.
  Random* random = nullptr;

  // Thesis §9.6: ask "would you vote?" before bumping the term, so a node
  // returning from a partition does not depose a healthy leader.
  bool pre_vote = true;
  // Thesis §6.2: a leader that has not heard from a quorum within an election
  // timeout steps down; followers that heard from a leader within an election
  // timeout refuse to vote (§4.2.3).
  bool check_quorum = true;

  // Upper bound on the entry bytes of one APPEND message (at least one entry
  // is always sent). Smaller: faster probing; larger: fewer messages.
  uint64_t max_size_per_msg = 1 << 20;
  // Per-follower window of APPEND messages in flight while replicating. Both
  // limits apply; 0 bytes means no byte limit. The byte limit should be about
  // the bandwidth-delay product to a follower.
  size_t max_inflight_msgs = 256;
  uint64_t max_inflight_bytes = 0;
  // The leader refuses proposals (ResourceExhausted) once the payload bytes of
  // its uncommitted entries would exceed this. 0 means no limit.
  uint64_t max_uncommitted_entries_size = 0;
  // Upper bound on committed entry bytes in one Ready. 0 means no limit.
  uint64_t max_committed_size_per_ready = 0;

  // The last index the host applied before this start (0 for a new node).
  // Committed entries after it are delivered again.
  Index applied;

  // InvalidArgument naming the field when the config cannot work.
  absl::Status Validate() const;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_CONFIG_H_
