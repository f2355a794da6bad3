// Raft: the consensus state machine of one group on one node — terms, votes,
// roles and the per-role message handlers (thesis chapter 3), membership
// (chapter 4), snapshots (chapter 5), reads (§6.4), transfer (§3.10),
// pre-vote and check-quorum (§9.6, §6.2).
//
// Pure: no threads, clocks, files or sockets. Time is Tick(); input is Step()
// and the Propose* calls; output accumulates in the core (log, messages, read
// states) and is collected by RawNode into a Ready. Owned by RawNode and called
// only from the thread that owns it. Hosts use RawNode, not this class.
#ifndef SLUICE_RAFT_CORE_RAFT_H_
#define SLUICE_RAFT_CORE_RAFT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/core/config.h"
#include "raft/core/raft_log.h"
#include "raft/core/read_only.h"
#include "raft/core/ready.h"
#include "raft/core/tracker.h"
#include "raft/storage/log_storage.h"
#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft {

class Raft {
 public:
  using Message = sluice::internal::raft::Message;
  using Entry = sluice::internal::raft::Entry;
  using ConfChange = sluice::internal::raft::ConfChange;
  using ConfState = sluice::internal::raft::ConfState;
  using HardState = sluice::internal::raft::HardState;

  // Restores term, vote, commit and membership from `storage` (borrowed; must
  // outlive the core). InvalidArgument for a bad config or initial state.
  static absl::StatusOr<std::unique_ptr<Raft>> Create(
      const Config& config, const LogStorage* storage);

  // Input. See RawNode for the contracts.
  absl::Status Step(const Message& m);
  void Tick();
  void Campaign();
  absl::Status Propose(std::string data);
  absl::Status ProposeConfChange(const ConfChange& cc);
  absl::Status TransferLeadership(NodeId to);
  absl::Status ReadIndex(std::string ctx);
  absl::StatusOr<ConfState> ApplyConfChange(const ConfChange& cc);
  void ReportUnreachable(NodeId id);
  // The transport lost its connection to `peer`. A follower whose leader
  // that is stops treating the leader as live (so it grants votes) and
  // campaigns within a tick or three (jittered, to avoid split votes)
  // instead of after a whole election timeout. Pre-vote keeps a false alarm
  // harmless: the others still hear from the leader and refuse.
  void LeaderUnreachable(NodeId peer);
  void ReportSnapshot(NodeId id, bool success);

  // Quiescence (raft/README.md): an idle group stops ticking and
  // heartbeating. A leader whose whole group is caught up (every member's
  // match is the last index, all committed and applied, nothing pending)
  // sends a final heartbeat marked `quiesce` and stops; a follower that holds
  // the whole log stops too. Any other message or request wakes a member.
  // The host must wake a quiesced follower whose leader's node goes silent
  // (LeaderUnreachable does). Returns whether the group is now quiesced.
  bool MaybeQuiesce();
  void Unquiesce();
  bool quiesced() const { return quiesced_; }

  // Reports from the host, driven by RawNode::Advance.
  void OnAppendDurable(Index index, Term term);
  void OnSnapshotDurable(Index index);
  void OnApplied(Index index, const std::vector<Entry>& applied_entries);
  // Sends the appends that proposals since the last Ready are waiting for:
  // proposals are batched into one APPEND per follower per Ready.
  void FlushProposals();
  bool HasPendingProposals() const { return pending_broadcast_; }

  std::vector<Message> TakeMessages() { return std::move(msgs_); }
  std::vector<Message> TakeMessagesAfterPersist() {
    return std::move(msgs_after_persist_);
  }
  std::vector<ReadState> TakeReadStates() { return std::move(read_states_); }
  bool HasMessages() const {
    return !msgs_.empty() || !msgs_after_persist_.empty();
  }
  bool HasReadStates() const { return !read_states_.empty(); }

  HardState hard_state() const;
  SoftState soft_state() const { return SoftState{lead_, role_}; }
  NodeId id() const { return id_; }
  GroupId group() const { return group_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId lead() const { return lead_; }
  Role role() const { return role_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  Index pending_conf_index() const { return pending_conf_index_; }
  uint64_t uncommitted_size() const { return uncommitted_size_; }
  int randomized_election_timeout() const {
    return randomized_election_timeout_;
  }
  // For tests that need to pin the jitter (as etcd's tests do).
  void set_randomized_election_timeout(int ticks) {
    randomized_election_timeout_ = ticks;
  }
  const RaftLog& log() const { return log_; }
  RaftLog& mutable_log() { return log_; }
  const ProgressTracker& tracker() const { return tracker_; }

 private:
  enum class CampaignKind { kPreElection, kElection, kTransfer };

  Raft(const Config& config, const LogStorage* storage);

  // Role transitions (thesis §3.4).
  void Reset(Term term);
  void BecomeFollower(Term term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void ResetRandomizedElectionTimeout();
  bool Promotable() const;
  void Hup(CampaignKind kind);
  bool HasUnappliedConfChange() const;
  void StartCampaign(CampaignKind kind);

  // Per-role handlers.
  void StepLeader(const Message& m);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  void HandleAppendResponse(const Message& m);
  void HandleHeartbeatResponse(const Message& m);
  void HandleReadIndex(const std::string& ctx, NodeId from);
  bool RestoreSnapshot(const sluice::internal::raft::Snapshot& snapshot);

  // Leader replication.
  void AppendEntries(std::vector<Entry> entries);
  bool SendAppend(NodeId to, bool send_if_empty);
  void SendAppendsUntilPaused(NodeId to, bool send_if_empty);
  bool SendSnapshot(NodeId to, Progress* pr);
  void BroadcastAppend();
  void BroadcastHeartbeat(const std::string& ctx);
  void SendTimeoutNow(NodeId to);
  // Advances commit by counting (thesis §3.6.2) and tells followers.
  bool MaybeCommit();
  void OnCommitAdvanced();
  bool CommittedEntryInCurrentTerm() const;
  void AbortLeaderTransfer() { lead_transferee_ = kNoNode; }
  bool IncreaseUncommittedSize(const std::vector<Entry>& entries);
  void SwitchToConfig(const TrackerConfig& config);
  void RespondToRead(const ReadOnly::Request& request);

  void Send(Message m);

  const NodeId id_;
  const GroupId group_;
  const int election_timeout_;
  const int heartbeat_timeout_;
  Random* const random_;
  const bool pre_vote_;
  const bool check_quorum_;
  const uint64_t max_size_per_msg_;
  const uint64_t max_uncommitted_size_;

  Term term_;
  NodeId vote_;
  NodeId lead_;
  Role role_ = Role::kFollower;
  RaftLog log_;
  ProgressTracker tracker_;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  bool quiesced_ = false;
  int randomized_election_timeout_ = 0;

  NodeId lead_transferee_;
  // Index of the last conf change appended; a new one is accepted only once
  // this is applied (one change at a time, thesis §4.1).
  Index pending_conf_index_;
  uint64_t uncommitted_size_ = 0;
  bool pending_broadcast_ = false;

  ReadOnly read_only_;
  // Reads that arrived before the leader committed an entry of its term.
  std::vector<std::pair<std::string, NodeId>> reads_waiting_for_commit_;
  std::vector<ReadState> read_states_;

  std::vector<Message> msgs_;
  std::vector<Message> msgs_after_persist_;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_RAFT_H_
