// Ready: one batch of work the core hands to the host (RawNode::GetReady),
// and the small value types it carries. Plain data, owned by the host once
// returned. See raft/README.md for the order in which the host must act.
#ifndef SLUICE_RAFT_CORE_READY_H_
#define SLUICE_RAFT_CORE_READY_H_

#include <optional>
#include <string>
#include <vector>

#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft {

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role role);

// Volatile state the host may want to observe (who leads, our role). Never
// persisted.
struct SoftState {
  NodeId lead;
  Role role = Role::kFollower;
  bool operator==(const SoftState&) const = default;
};

// A linearizable read point: once the host has applied up to `index`, a read
// for `request_ctx` sees every write committed before the ReadIndex call
// (thesis §6.4).
struct ReadState {
  Index index;
  std::string request_ctx;
};

struct Ready {
  // Set when the lead or role changed since the last Ready.
  std::optional<SoftState> soft_state;
  // Set when term, vote or commit changed: persist it.
  std::optional<sluice::internal::raft::HardState> hard_state;
  // Entries to append to durable storage. They replace any stored entries at
  // and after entries.front().index.
  std::vector<sluice::internal::raft::Entry> entries;
  // A snapshot received from the leader, to install (state machine and log).
  std::optional<sluice::internal::raft::Snapshot> snapshot;
  // Entries to apply, in order. May include entries of `entries` above: apply
  // only after they are durable.
  std::vector<sluice::internal::raft::Entry> committed_entries;
  // May be sent at once, while this Ready's writes are in progress (the
  // leader's appends and heartbeats: the parallel leader write, thesis
  // §10.2.1).
  std::vector<sluice::internal::raft::Message> messages;
  // Must be sent only after hard_state, entries and snapshot of this Ready are
  // durable (votes and acknowledgements promise durable state).
  std::vector<sluice::internal::raft::Message> messages_after_persist;
  std::vector<ReadState> read_states;
  // True when hard_state's term/vote changed or entries is non-empty: the
  // write must be synced (fsync) before Advance.
  bool must_sync = false;

  bool Empty() const {
    return !soft_state && !hard_state && entries.empty() && !snapshot &&
           committed_entries.empty() && messages.empty() &&
           messages_after_persist.empty() && read_states.empty();
  }
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_READY_H_
