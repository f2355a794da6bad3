// NodeHost: the multi-Raft host of one node. ONE event-loop thread owns every
// replica (Raft core, durable log, state machine) of the node; nothing inside
// the loop takes a lock. Other threads talk to it only by posting tasks
// (Post, and the thread-safe methods below, which post for you).
//
// Each loop iteration runs the posted tasks (inbound messages, proposals,
// write completions, ticks), then takes the Ready of every group with work
// and hands ONE WriteRequest (entries, hard states, snapshots and the state
// machines' writes of all groups) to the storage writer: group commit across
// groups. `messages` go out at once; when the writer reports the request
// durable (posted back to the loop) the host sends messages_after_persist,
// applies committed entries, and calls Advance, as raft/README.md demands.
// README.md in this folder draws the loop and lists the rules.
//
// Thread safety: every public method may be called from any thread, unless
// it says it blocks (those must not be called from the loop thread, e.g.
// from a callback). Callbacks (proposals, observers) run on the loop thread:
// they must be quick and must not block on the host.
#ifndef SLUICE_BROKER_HOST_NODE_HOST_H_
#define SLUICE_BROKER_HOST_NODE_HOST_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "broker/host/group_status.h"
#include "broker/host/proposal_tracker.h"
#include "broker/host/replica.h"
#include "broker/host/replica_state_machine.h"
#include "broker/host/transport.h"
#include "raft/core/peer_liveness.h"
#include "raft/leveldb/raft_db.h"

namespace sluice::broker {

// How a group comes to this node.
struct GroupSpec {
  raft::GroupId group;
  std::string kind;  // handed to the StateMachineFactory, now and at restart
  // Founding member: the group starts from a bootstrap snapshot at index 1
  // holding these voters (the same list on every founding member). Empty:
  // join empty and learn the membership from the leader (add this node with
  // a conf change on the leader).
  std::vector<raft::NodeId> initial_voters;
};

class NodeHost final : public TransportHandler {
 public:
  using Message = sluice::internal::raft::Message;
  using ConfChange = sluice::internal::raft::ConfChange;
  using StatusCallback = absl::AnyInvocable<void(absl::Status) &&>;

  struct Options {
    raft::NodeId node_id;
    std::string data_dir;  // the node's one LevelDB
    raft::RaftDb::Options db;
    Transport* transport = nullptr;  // borrowed; must outlive the host
    StateMachineFactory factory;
    // Real-time ticking at this interval; ZeroDuration() ticks only on
    // TickAll() (exact tests).
    absl::Duration tick_interval = absl::Milliseconds(100);
    const Clock* clock = MonotonicClock::Get();  // for tick scheduling
    int election_tick = 10;
    int heartbeat_tick = 1;
    // Idle groups stop ticking and heartbeating (raft/README.md,
    // "Quiescence"); peers are then watched per node instead: one keepalive
    // per peer per tick, and a peer silent for 3 election timeouts wakes the
    // groups it is a member of.
    bool quiesce_idle_groups = true;
    uint64_t seed = 1;  // election jitter; mixed with node and group ids
    bool pre_vote = true;
    bool check_quorum = true;
    uint64_t max_size_per_msg = 1 << 20;
    size_t max_inflight_msgs = 256;
    uint64_t max_uncommitted_entries_size = 64 << 20;
    // Backpressure: proposals waiting for apply, per group, and proposals
    // posted but not yet taken by the loop, per host. Beyond either:
    // RESOURCE_EXHAUSTED with `retry_hint`.
    size_t max_pending_proposals = 4096;
    size_t max_queued_proposals = 65536;
    absl::Duration retry_hint = absl::Milliseconds(50);
    // How long proposals outlive the leadership they were made under (see
    // Replica::FailStaleProposals); ZeroDuration fails them at once.
    absl::Duration stale_proposal_grace = absl::Seconds(3);
    // A local snapshot (and log compaction) once this many entries were
    // applied since the last one; `compact_keep` entries stay behind it for
    // followers that lag a little.
    uint64_t compact_after = 10000;
    uint64_t compact_keep = 1000;
    // A removed group's data is deleted in steps of about this many records
    // (one step per loop iteration, each durable before the next), so that
    // deleting a large queue neither holds the loop nor makes one huge write.
    size_t destroy_step_records = 20000;
    // Called on the loop thread when a group's leader or role changes.
    absl::AnyInvocable<void(const GroupStatus&)> on_leader_change;
  };

  // Opens the DB, rebuilds every registered group with its state machine,
  // starts the transport and the loop.
  static absl::StatusOr<std::unique_ptr<NodeHost>> Open(Options options);
  // Stops the transport and the loop after the writes in flight complete;
  // pending proposals fail with UNAVAILABLE. Not from the loop thread.
  ~NodeHost() override;
  NodeHost(const NodeHost&) = delete;
  NodeHost& operator=(const NodeHost&) = delete;

  raft::NodeId node_id() const { return options_.node_id; }

  // Runs `task` on the loop thread.
  void Post(absl::AnyInvocable<void()> task);

  // Creates a replica (durably registered before `done` runs). Fails with
  // ALREADY_EXISTS if hosted, FAILED_PRECONDITION if this node held the
  // group before (ids are never reused on one disk).
  void CreateGroup(GroupSpec spec, StatusCallback done);
  absl::Status CreateGroup(GroupSpec spec);  // blocks
  // Drops the replica and deletes its state machine's data.
  void RemoveGroup(raft::GroupId group, StatusCallback done);
  absl::Status RemoveGroup(raft::GroupId group);  // blocks

  // Proposes `data` to `group`. `done` runs exactly once, on the loop
  // thread, with the state machine's result once the entry is applied here
  // and its writes are durable, or with: NOT_FOUND (no such group),
  // UNAVAILABLE (not leader, with LeaderHint; leadership lost before apply;
  // transfer in progress; shutting down), RESOURCE_EXHAUSTED (too many
  // pending proposals, or the core's uncommitted budget is full).
  void Propose(raft::GroupId group, std::string data, ProposeCallback done);
  // The same for a membership change; the result is empty.
  void ProposeConfChange(raft::GroupId group, ConfChange cc,
                         ProposeCallback done);
  void TransferLeadership(raft::GroupId group, raft::NodeId to,
                          StatusCallback done);
  // A draining node (shutting down) refuses to take leaderships: it drops
  // TimeoutNow, so a transfer towards it (e.g. a peer's rebalancing) fails
  // instead of handing it groups it is about to abandon.
  void SetDraining(bool draining) { draining_.store(draining); }
  // Starts an election in `group` now (tests, and bootstrap speed-up).
  void Campaign(raft::GroupId group);
  // One tick for every group (manual time).
  void TickAll();

  // Runs `fn` on the loop thread with the group's state machine and status,
  // and waits. NOT_FOUND if not hosted. Blocks.
  absl::Status WithStateMachine(
      raft::GroupId group,
      absl::AnyInvocable<void(ReplicaStateMachine&, const GroupStatus&)> fn);
  // The group's state machine, for code already on the loop thread (the
  // node's request handlers run there via Post); nullptr if the group is not
  // hosted, not started yet, or being removed. Valid until the callback or
  // task that asked returns.
  ReplicaStateMachine* LocalStateMachine(raft::GroupId group);
  // A snapshot of every group's status (blocks unless on the loop thread).
  std::vector<GroupStatus> Status();
  std::optional<GroupStatus> StatusOf(raft::GroupId group);

  // TransportHandler.
  void Deliver(raft::NodeId from, std::vector<Message> messages) override;
  void ReportUnreachable(raft::NodeId peer) override;
  void ReportSnapshot(raft::GroupId group, raft::NodeId to, bool ok) override;

 private:
  using Outbox = absl::btree_map<raft::NodeId, std::vector<Message>>;
  // One group's part of a submitted WriteRequest, completed on durability.
  struct WritePart {
    raft::GroupId group;
    std::optional<raft::Ready> ready;
    std::vector<Resolved> answers;  // run once durable
    raft::Index applied_covered;    // applied index whose writes are in it
  };

  NodeHost(Options options, std::shared_ptr<raft::RaftDb> db);
  absl::Status Recover();
  raft::Config BaseConfig() const;
  uint64_t SeedFor(raft::GroupId group) const;
  bool OnLoopThread() const;
  // Posts `fn` and waits for it; inline on the loop thread.
  void RunSync(absl::AnyInvocable<void()> fn);

  void Run();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TickGroups();
  // Ends a tick of node liveness: keepalives, and wakes the groups of peers
  // that went silent.
  void TickPeers(const absl::flat_hash_set<raft::NodeId>& members);
  // Wakes every quiesced group `peer` is a member of (it went silent, or is
  // heard again).
  void WakeGroupsOf(raft::NodeId peer);
  void DoPropose(raft::GroupId group, std::string data,
                 std::optional<ConfChange> cc, ProposeCallback done);
  void DoCreateGroup(GroupSpec spec, StatusCallback done);
  void DoRemoveGroup(raft::GroupId group, StatusCallback done);
  Replica* Find(raft::GroupId group);
  Replica* FindActive(raft::GroupId group);

  // The write path (node_host_ready.cc).
  void ProcessReadies();
  // Takes the group's Ready; true if it completed at once (nothing to write).
  bool TakeReady(Replica& g, Outbox& out);
  void AddToRequest(Replica& g, raft::WriteRequest& request,
                    std::vector<WritePart>& parts);
  // One step of deleting a removed group's data; true when it is gone.
  bool DestroyStep(Replica& g, raft::WriteRequest& request,
                   std::vector<WritePart>& parts,
                   std::vector<StatusCallback>& removals);
  void CompleteReady(Replica& g, raft::Ready& rd, Outbox& out);
  void OnWriteDone(std::vector<WritePart> parts,
                   std::vector<StatusCallback> removals);
  void Submit(raft::WriteRequest request,
              absl::AnyInvocable<void()> on_durable);
  void QueueMessages(Replica& g, std::vector<Message>& messages, Outbox& out);
  void SendSnapshot(Replica& g, Message message);
  void Flush(Outbox& out);
  void NotifyLeadership(Replica& g);
  void RunAnswers(std::vector<Resolved>& answers);

  Options options_;
  std::shared_ptr<raft::RaftDb> db_;  // shared with snapshot sources

  // Loop-thread state.
  absl::btree_map<raft::GroupId, std::unique_ptr<Replica>> replicas_;
  absl::flat_hash_map<raft::GroupId, StatusCallback> removals_;
  raft::PeerLiveness liveness_;
  int outstanding_writes_ = 0;
  bool stopping_ = false;
  bool more_work_ = false;
  std::atomic<std::thread::id> loop_thread_id_{};

  std::atomic<size_t> queued_proposals_{0};
  std::atomic<bool> draining_{false};
  absl::AnyInvocable<void(const GroupStatus&)> on_leader_change_;

  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  int manual_ticks_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar work_;  // signalled when any of the above changes

  std::thread loop_;  // started by Open once recovery is done
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_NODE_HOST_H_
