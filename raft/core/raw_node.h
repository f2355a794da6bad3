// RawNode: the host-facing facade of one Raft group member. The host feeds it
// messages (Step), time (Tick) and requests (Propose, ProposeConfChange,
// TransferLeadership, ReadIndex), and drains its output with GetReady /
// Advance. Single-threaded: owned by one host thread (or the simulation);
// nothing in it blocks, sleeps or does I/O. See raft/README.md.
//
//   host loop:  Step/Tick/Propose ...
//               if (node.HasReady()) {
//                 Ready rd = node.GetReady();
//                 send rd.messages                       (now)
//                 write rd.snapshot, rd.entries, rd.hard_state (sync if
//                 must_sync)
//                 -- once durable --
//                 send rd.messages_after_persist
//                 apply rd.committed_entries (ApplyConfChange for conf entries)
//                 node.Advance();
//               }
#ifndef SLUICE_RAFT_CORE_RAW_NODE_H_
#define SLUICE_RAFT_CORE_RAW_NODE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/core/config.h"
#include "raft/core/raft.h"
#include "raft/core/ready.h"
#include "raft/storage/log_storage.h"

namespace sluice::raft {

class RawNode {
 public:
  using Message = sluice::internal::raft::Message;
  using ConfChange = sluice::internal::raft::ConfChange;
  using ConfState = sluice::internal::raft::ConfState;

  // Starts (or restarts) a member from `storage`: its hard state, log,
  // snapshot and membership (ConfState). `storage` is borrowed and must
  // outlive the node; the host writes to it, the node only reads.
  static absl::StatusOr<std::unique_ptr<RawNode>> Create(
      const Config& config, const LogStorage* storage);

  // One logical clock tick; the host calls it at a fixed interval.
  void Tick() { raft_->Tick(); }
  // Starts an election now (pre-vote first if enabled).
  void Campaign() { raft_->Campaign(); }
  // A message from a peer. InvalidArgument if it is for another group or
  // node; stale messages are dropped silently (OK).
  absl::Status Step(const Message& m) { return raft_->Step(m); }
  // Appends `data` to the log. FailedPrecondition when not leader,
  // Unavailable during a leadership transfer, ResourceExhausted when the
  // uncommitted budget is full. OK does not mean committed.
  absl::Status Propose(std::string data) {
    return raft_->Propose(std::move(data));
  }
  // Proposes a membership change (see confchange.h for the forms). Besides
  // Propose's errors: FailedPrecondition while another change is not yet
  // applied or before the leader committed an entry of its term;
  // InvalidArgument for an impossible change.
  absl::Status ProposeConfChange(const ConfChange& cc) {
    return raft_->ProposeConfChange(cc);
  }
  // The host applied a committed ENTRY_TYPE_CONF_CHANGE entry: switch to the
  // new membership. Returns the ConfState to persist with the applied index.
  absl::StatusOr<ConfState> ApplyConfChange(const ConfChange& cc) {
    return raft_->ApplyConfChange(cc);
  }
  // Hands leadership to `to` (thesis §3.10). A follower forwards the request
  // to its leader.
  absl::Status TransferLeadership(NodeId to) {
    return raft_->TransferLeadership(to);
  }
  // Asks for a linearizable read point; the answer arrives as a ReadState
  // with the same ctx in a later Ready (or never, if leadership is lost: the
  // host retries after a timeout).
  absl::Status ReadIndex(std::string ctx) {
    return raft_->ReadIndex(std::move(ctx));
  }
  // The transport could not deliver to `id`: stop pipelining to it.
  void ReportUnreachable(NodeId id) { raft_->ReportUnreachable(id); }
  void LeaderUnreachable(NodeId peer) { raft_->LeaderUnreachable(peer); }
  // Quiescence of an idle group (see Raft::MaybeQuiesce, raft/README.md):
  // the host asks a leader to quiesce when it ticks it, and wakes members
  // whose peers' nodes went silent.
  bool MaybeQuiesce() { return raft_->MaybeQuiesce(); }
  void Unquiesce() { raft_->Unquiesce(); }
  bool quiesced() const { return raft_->quiesced(); }
  // The transport finished (or gave up) streaming the snapshot to `id`.
  void ReportSnapshot(NodeId id, bool success) {
    raft_->ReportSnapshot(id, success);
  }

  bool HasReady() const;
  // Collects the pending work. Must be followed by Advance() before the next
  // GetReady(); Step/Tick/Propose may be called in between.
  Ready GetReady();
  // The host has done everything the last Ready asked: its writes are
  // durable, messages_after_persist are sent, committed_entries are applied.
  // This is the point where the leader counts its own copy toward a quorum.
  void Advance();

  const Raft& raft() const { return *raft_; }
  Raft& mutable_raft() { return *raft_; }
  NodeId id() const { return raft_->id(); }

 private:
  explicit RawNode(std::unique_ptr<Raft> raft);

  std::unique_ptr<Raft> raft_;
  SoftState prev_soft_;
  sluice::internal::raft::HardState prev_hard_;
  // What the outstanding Ready handed out, for Advance.
  bool ready_outstanding_ = false;
  std::optional<std::pair<Index, Term>> pending_append_;
  std::optional<Index> pending_snapshot_;
  std::vector<sluice::internal::raft::Entry> pending_applied_;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_RAW_NODE_H_
