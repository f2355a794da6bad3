// GroupStatus: a copy of what one group looks like on this node at one
// moment (NodeHost::Status, leadership observers). Plain data.
#ifndef SLUICE_BROKER_HOST_GROUP_STATUS_H_
#define SLUICE_BROKER_HOST_GROUP_STATUS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "raft/core/ready.h"
#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::broker {

// A follower's replication progress as its leader tracks it.
struct ReplicaProgress {
  raft::NodeId node;
  raft::Index match;
  int state = 0;  // raft::ProgressState: 0 probe, 1 replicate, 2 snapshot
  bool recent_active = false;
};

struct GroupStatus {
  raft::GroupId group;
  std::string kind;
  raft::Role role = raft::Role::kFollower;
  raft::NodeId leader;  // kNoNode when unknown
  raft::Term term;
  raft::Index commit;
  // Applied to the state machine in memory.
  raft::Index applied;
  // Applied, with the state machine's writes durable (what a snapshot of
  // the DB, or a restart, holds at least).
  raft::Index durable_applied;
  raft::Index last_index;
  raft::Index snapshot_index;  // of the stored snapshot metadata
  size_t pending_proposals = 0;
  sluice::internal::raft::ConfState conf_state;
  // Leader only: every member's progress (its own included), by node id.
  std::vector<ReplicaProgress> progress;
  // Idle: neither ticking nor heartbeating (raft/README.md, "Quiescence").
  bool quiesced = false;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_GROUP_STATUS_H_
