// SimNode: one member of the simulated group — a RawNode, its storage and a
// toy state machine — driven the way a real host drives it, except that an
// fsync takes virtual time and a crash loses every write not yet synced.
//
// Durability model: the writes of a Ready (entries, hard state, snapshot) go
// into `pending_` and reach `durable_` (a MemoryStorage) only when the
// simulator delivers the FsyncDone event. Messages that promise durable state
// (messages_after_persist), applying committed entries and Advance() wait for
// it. A crash drops the RawNode and `pending_`; a restart rebuilds the node
// from `durable_` alone.
//
// Owned by the Simulator; single-threaded.
#ifndef SLUICE_TESTS_SIM_SIM_NODE_H_
#define SLUICE_TESTS_SIM_SIM_NODE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/random.h"
#include "raft/core/peer_liveness.h"
#include "raft/core/raw_node.h"
#include "raft/storage/memory_storage.h"

namespace sluice::sim {

// The replicated "application": a hash chain over applied entries. Two nodes
// that applied the same entries in the same order have the same hash.
struct SimStateMachine {
  uint64_t applied_index = 0;
  uint64_t hash = 0;

  void Apply(const sluice::internal::raft::Entry& entry);
  std::string Serialize() const;
  bool Restore(const std::string& data);
};

struct SimNodeOptions {
  int election_tick = 10;
  int heartbeat_tick = 2;
  // Entries kept behind a snapshot when compacting; compaction happens once
  // more than `compact_after` applied entries are held.
  uint64_t compact_after = 64;
  uint64_t max_size_per_msg = 4096;
  size_t max_inflight_msgs = 8;
};

class SimNode {
 public:
  using Entry = sluice::internal::raft::Entry;
  using Message = sluice::internal::raft::Message;
  using ConfState = sluice::internal::raft::ConfState;

  // A founding member when `initial` has voters; otherwise an empty node
  // that waits to be added.
  SimNode(uint64_t id, ConfState initial, const SimNodeOptions& options);

  // Founding members share this snapshot: index 1, term 1, the initial
  // membership and an empty state machine.
  static constexpr uint64_t kBootstrapIndex = 1;
  static sluice::internal::raft::Snapshot BootstrapSnapshot(ConfState members);

  uint64_t id() const { return id_; }
  bool up() const { return node_ != nullptr; }
  // Incremented at every restart, so that events of an earlier life are
  // recognised and ignored.
  uint64_t epoch() const { return epoch_; }

  // Builds a RawNode from durable storage. `seed` seeds election jitter.
  absl::Status Start(uint64_t seed);
  // Loses the RawNode and every unsynced write.
  void Crash();
  // Forgets everything, durable state included (a replaced machine), and
  // starts over as a founding member of `initial` or as an empty node.
  void Wipe(ConfState initial);

  raft::RawNode* raw() { return node_.get(); }
  const raft::RawNode* raw() const { return node_.get(); }
  const raft::MemoryStorage& durable() const { return *durable_; }
  const SimStateMachine& state_machine() const { return sm_; }
  const ConfState& conf_state() const { return conf_state_; }

  // What the host does with a Ready, in two halves around the fsync.
  struct ReadyWork {
    std::vector<Message> send_now;
    bool needs_fsync = false;
  };
  bool HasPendingWrite() const { return pending_.has_value(); }
  // Takes a Ready if the node has one and no write is in flight.
  std::optional<ReadyWork> TakeReady();

  // The pending write is durable: persist, then return the messages that may
  // now be sent. `applied` receives the entries applied (for the checker) and
  // `snapshot_restored` is set when a snapshot was installed.
  struct AppliedEntry {
    Entry entry;
    uint64_t hash_after;  // state-machine hash right after applying it
  };
  struct PersistResult {
    std::vector<Message> send_after;
    std::vector<AppliedEntry> applied;
    std::optional<sluice::internal::raft::SnapshotMetadata> snapshot_installed;
    uint64_t snapshot_hash = 0;  // state-machine hash right after installing
    std::vector<Entry> persisted_entries;
    bool compacted = false;
  };
  PersistResult FinishWrite();

  // Which peers this incarnation heard from lately (quiescence runs only).
  raft::PeerLiveness& liveness() { return *liveness_; }

 private:
  void ApplyEntry(const Entry& entry, PersistResult* result);
  void MaybeCompact(PersistResult* result);

  uint64_t id_;
  SimNodeOptions options_;
  uint64_t epoch_ = 0;
  std::unique_ptr<raft::MemoryStorage> durable_;
  std::unique_ptr<Random> random_;
  std::unique_ptr<raft::RawNode> node_;
  std::unique_ptr<raft::PeerLiveness> liveness_;
  std::optional<raft::Ready> pending_;
  SimStateMachine sm_;
  // Membership after the last applied entry (what a snapshot must carry).
  ConfState conf_state_;
};

}  // namespace sluice::sim

#endif  // SLUICE_TESTS_SIM_SIM_NODE_H_
