#include "raft/core/raft.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/logging.h"
#include "base/status_macros.h"
#include "raft/core/confchange.h"

namespace sluice::raft {

using sluice::internal::raft::ENTRY_TYPE_CONF_CHANGE;
using sluice::internal::raft::ENTRY_TYPE_NORMAL;
using sluice::internal::raft::MESSAGE_TYPE_APPEND;
using sluice::internal::raft::MESSAGE_TYPE_APPEND_RESPONSE;
using sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT;
using sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT_RESPONSE;
using sluice::internal::raft::MESSAGE_TYPE_PRE_VOTE;
using sluice::internal::raft::MESSAGE_TYPE_PRE_VOTE_RESPONSE;
using sluice::internal::raft::MESSAGE_TYPE_READ_INDEX;
using sluice::internal::raft::MESSAGE_TYPE_READ_INDEX_RESPONSE;
using sluice::internal::raft::MESSAGE_TYPE_SNAPSHOT;
using sluice::internal::raft::MESSAGE_TYPE_TIMEOUT_NOW;
using sluice::internal::raft::MESSAGE_TYPE_TRANSFER_LEADER;
using sluice::internal::raft::MESSAGE_TYPE_VOTE;
using sluice::internal::raft::MESSAGE_TYPE_VOTE_RESPONSE;
using sluice::internal::raft::MessageType;

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

namespace {

// Messages that promise durable state (a vote, an acknowledged entry) may
// leave only after the Ready that produced them is durable (thesis §3.8).
bool NeedsPersistFirst(MessageType type) {
  switch (type) {
    case MESSAGE_TYPE_APPEND_RESPONSE:
    case MESSAGE_TYPE_VOTE:
    case MESSAGE_TYPE_VOTE_RESPONSE:
    case MESSAGE_TYPE_PRE_VOTE_RESPONSE:
    case MESSAGE_TYPE_HEARTBEAT_RESPONSE:
      return true;
    default:
      return false;
  }
}

uint64_t PayloadSize(const std::vector<Raft::Entry>& entries) {
  uint64_t n = 0;
  for (const Raft::Entry& e : entries) n += e.data().size();
  return n;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Raft>> Raft::Create(const Config& config,
                                                   const LogStorage* storage) {
  SLUICE_RETURN_IF_ERROR(config.Validate());
  absl::StatusOr<InitialState> initial = storage->GetInitialState();
  if (!initial.ok()) return initial.status();
  absl::StatusOr<TrackerConfig> membership =
      ConfigFromConfState(initial->conf_state);
  if (!membership.ok()) return membership.status();

  std::unique_ptr<Raft> r(new Raft(config, storage));
  const HardState& hs = initial->hard_state;
  Index commit(hs.commit());
  if (commit < r->log_.committed() || commit > r->log_.LastIndex()) {
    return absl::InvalidArgumentError(
        absl::StrCat("group ", config.group.value(), ": hard state commit ",
                     hs.commit(), " outside [", r->log_.committed().value(),
                     ", ", r->log_.LastIndex().value(), "]"));
  }
  r->log_.CommitTo(commit);
  if (config.applied > r->log_.committed()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group ", config.group.value(), ": applied ", config.applied.value(),
        " is past commit ", r->log_.committed().value()));
  }
  r->tracker_.SetConfig(*membership, r->log_.LastIndex() + 1);
  r->BecomeFollower(Term(hs.term()), kNoNode);
  r->vote_ = NodeId(hs.vote());
  return r;
}

Raft::Raft(const Config& config, const LogStorage* storage)
    : id_(config.id),
      group_(config.group),
      election_timeout_(config.election_tick),
      heartbeat_timeout_(config.heartbeat_tick),
      random_(config.random),
      pre_vote_(config.pre_vote),
      check_quorum_(config.check_quorum),
      max_size_per_msg_(config.max_size_per_msg),
      max_uncommitted_size_(config.max_uncommitted_entries_size),
      log_(storage, config.group, config.applied),
      tracker_(config.max_inflight_msgs, config.max_inflight_bytes) {}

Raft::HardState Raft::hard_state() const {
  HardState hs;
  hs.set_term(term_.value());
  hs.set_vote(vote_.value());
  hs.set_commit(log_.committed().value());
  return hs;
}

// ---------------------------------------------------------------------------
// Role transitions.

void Raft::Reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  quiesced_ = false;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  tracker_.ResetVotes();
  tracker_.ResetProgress(log_.LastIndex() + 1);
  pending_conf_index_ = Index(0);
  uncommitted_size_ = 0;
  pending_broadcast_ = false;
  read_only_.Clear();
  reads_waiting_for_commit_.clear();
}

void Raft::ResetRandomizedElectionTimeout() {
  // Thesis §3.4: uniform in [T, 2T) so that split votes are rare.
  randomized_election_timeout_ =
      election_timeout_ + static_cast<int>(random_->Uniform(election_timeout_));
}

void Raft::BecomeFollower(Term term, NodeId lead) {
  Reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::BecomePreCandidate() {
  SLUICE_CHECK(role_ != Role::kLeader)
      << "group=" << group_ << " term=" << term_
      << " index=" << log_.LastIndex() << " leader cannot become pre-candidate";
  // Thesis §9.6: the term does not change, so a failed pre-election disturbs
  // nobody.
  tracker_.ResetVotes();
  lead_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void Raft::BecomeCandidate() {
  SLUICE_CHECK(role_ != Role::kLeader)
      << "group=" << group_ << " term=" << term_
      << " index=" << log_.LastIndex() << " leader cannot become candidate";
  Reset(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  SLUICE_CHECK(role_ != Role::kFollower)
      << "group=" << group_ << " term=" << term_
      << " index=" << log_.LastIndex()
      << " follower cannot become leader directly";
  Reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  Progress* self = tracker_.Find(id_);
  SLUICE_CHECK(self != nullptr)
      << "group=" << group_ << " term=" << term_ << " leader is not a member";
  // Only the durable part of our log counts toward a quorum.
  self->MaybeUpdate(log_.DurableLastIndex());
  self->BecomeReplicate();
  self->set_recent_active(true);
  // Earlier entries may hold an unapplied conf change: no new one until they
  // are applied. The no-op below commits the earlier entries (§3.6.2, §6.4).
  pending_conf_index_ = log_.LastIndex();
  Entry noop;
  noop.set_type(ENTRY_TYPE_NORMAL);
  AppendEntries({noop});
}

bool Raft::Promotable() const {
  return tracker_.config().IsVoter(id_) && !log_.unstable().snapshot();
}

void Raft::Campaign() {
  Unquiesce();
  Hup(pre_vote_ ? CampaignKind::kPreElection : CampaignKind::kElection);
}

void Raft::Hup(CampaignKind kind) {
  if (role_ == Role::kLeader || !Promotable()) return;
  // Membership takes effect when applied: campaigning with a committed but
  // unapplied change could count votes of the wrong configuration.
  if (HasUnappliedConfChange()) return;
  StartCampaign(kind);
}

bool Raft::HasUnappliedConfChange() const {
  if (log_.committed() <= log_.applied()) return false;
  absl::StatusOr<std::vector<Entry>> entries =
      log_.Slice(log_.applied() + 1, log_.committed() + 1, 0);
  if (!entries.ok()) return true;
  for (const Entry& e : *entries) {
    if (e.type() == ENTRY_TYPE_CONF_CHANGE) return true;
  }
  return false;
}

void Raft::StartCampaign(CampaignKind kind) {
  MessageType type;
  Term vote_term;
  if (kind == CampaignKind::kPreElection) {
    BecomePreCandidate();
    type = MESSAGE_TYPE_PRE_VOTE;
    vote_term = term_ + 1;  // what we would campaign at; term_ is unchanged
  } else {
    BecomeCandidate();
    type = MESSAGE_TYPE_VOTE;
    vote_term = term_;
  }
  tracker_.RecordVote(id_, true);
  if (tracker_.TallyVotes() == VoteResult::kWon) {
    // A single voter wins at once.
    if (kind == CampaignKind::kPreElection) {
      StartCampaign(CampaignKind::kElection);
    } else {
      BecomeLeader();
    }
    return;
  }
  VoterSet voters = tracker_.config().voters;
  voters.insert(tracker_.config().voters_outgoing.begin(),
                tracker_.config().voters_outgoing.end());
  for (NodeId to : voters) {
    if (to == id_) continue;
    Message m;
    m.set_type(type);
    m.set_to(to.value());
    m.set_term(vote_term.value());
    m.set_index(log_.LastIndex().value());
    m.set_log_term(log_.LastTerm().value());
    m.set_transfer(kind == CampaignKind::kTransfer);
    Send(std::move(m));
  }
}

// ---------------------------------------------------------------------------
// Input.

namespace {

// What no correct peer ever sends, whatever our state: a message from a
// faulty or malicious peer must be refused, not reach the log's invariant
// checks (which crash). Only what can be checked without our state.
absl::Status CheckShape(const sluice::internal::raft::Message& m) {
  if (m.type() != sluice::internal::raft::MESSAGE_TYPE_APPEND ||
      m.entries().empty()) {
    return absl::OkStatus();
  }
  const uint64_t prev = m.index();
  if (prev > ~uint64_t{0} - static_cast<uint64_t>(m.entries_size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("append after index ", prev, " overflows the log"));
  }
  uint64_t term = m.log_term();
  for (int i = 0; i < m.entries_size(); ++i) {
    const sluice::internal::raft::Entry& e = m.entries(i);
    if (e.index() != prev + 1 + static_cast<uint64_t>(i) || e.term() < term ||
        e.term() > m.term()) {
      return absl::InvalidArgumentError(
          absl::StrCat("append from node ", m.from(), " at term ", m.term(),
                       " after (", prev, ", ", m.log_term(), "): entry ", i,
                       " is (", e.index(), ", ", e.term(), ")"));
    }
    term = e.term();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Raft::Step(const Message& m) {
  if (GroupId(m.group()) != group_) {
    return absl::InvalidArgumentError(
        absl::StrCat("message for group ", m.group(), " stepped into group ",
                     group_.value()));
  }
  if (NodeId(m.to()) != id_ || m.from() == 0 || m.term() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed message: to=", m.to(), " from=", m.from(),
                     " term=", m.term(), " on node ", id_.value()));
  }
  if (absl::Status s = CheckShape(m); !s.ok()) return s;
  const Term mterm(m.term());
  const NodeId from(m.from());
  const MessageType type = m.type();
  // Answers to heartbeats sent just before quiescing are still on the way;
  // they wake a leader only if they show work (HandleHeartbeatResponse).
  if (quiesced_ && !(type == MESSAGE_TYPE_HEARTBEAT && m.quiesce()) &&
      !(type == MESSAGE_TYPE_HEARTBEAT_RESPONSE && m.context().empty() &&
        mterm == term_)) {
    Unquiesce();
  }
  const bool vote_request =
      type == MESSAGE_TYPE_VOTE || type == MESSAGE_TYPE_PRE_VOTE;
  if (mterm > term_) {
    if (vote_request && !m.transfer() && lead_ != kNoNode &&
        election_elapsed_ < election_timeout_ &&
        (check_quorum_ || (pre_vote_ && type == MESSAGE_TYPE_PRE_VOTE))) {
      // Thesis §4.2.3 / §9.6: we heard from a live leader within the minimum
      // election timeout, so this candidate is disruptive; ignore it.
      return absl::OkStatus();
    }
    if (type == MESSAGE_TYPE_PRE_VOTE ||
        (type == MESSAGE_TYPE_PRE_VOTE_RESPONSE && !m.reject())) {
      // Pre-votes never change terms (§9.6); a granted pre-vote carries the
      // term we would campaign at.
    } else if (type == MESSAGE_TYPE_APPEND || type == MESSAGE_TYPE_HEARTBEAT ||
               type == MESSAGE_TYPE_SNAPSHOT) {
      BecomeFollower(mterm, from);
    } else {
      BecomeFollower(mterm, kNoNode);
    }
  } else if (mterm < term_) {
    if ((check_quorum_ || pre_vote_) &&
        (type == MESSAGE_TYPE_APPEND || type == MESSAGE_TYPE_HEARTBEAT)) {
      // A stale leader (e.g. back from a partition) learns our term and steps
      // down; without this, pre-vote could leave it stuck forever.
      Message resp;
      resp.set_type(MESSAGE_TYPE_APPEND_RESPONSE);
      resp.set_to(from.value());
      Send(std::move(resp));
    } else if (type == MESSAGE_TYPE_PRE_VOTE) {
      Message resp;
      resp.set_type(MESSAGE_TYPE_PRE_VOTE_RESPONSE);
      resp.set_to(from.value());
      resp.set_reject(true);
      Send(std::move(resp));
    }
    return absl::OkStatus();
  }

  if (vote_request) {
    HandleVoteRequest(m);
    return absl::OkStatus();
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kCandidate:
    case Role::kPreCandidate:
      StepCandidate(m);
      break;
    case Role::kFollower:
      StepFollower(m);
      break;
  }
  return absl::OkStatus();
}

void Raft::HandleVoteRequest(const Message& m) {
  const NodeId from(m.from());
  const bool pre = m.type() == MESSAGE_TYPE_PRE_VOTE;
  // Thesis §3.4: one vote per term; §3.6.1: only for an up-to-date log.
  const bool can_vote = vote_ == from ||
                        (vote_ == kNoNode && lead_ == kNoNode) ||
                        (pre && Term(m.term()) > term_);
  Message resp;
  resp.set_type(pre ? MESSAGE_TYPE_PRE_VOTE_RESPONSE
                    : MESSAGE_TYPE_VOTE_RESPONSE);
  resp.set_to(from.value());
  if (can_vote && log_.IsUpToDate(Index(m.index()), Term(m.log_term()))) {
    resp.set_term(m.term());
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = from;
    }
  } else {
    resp.set_reject(true);
  }
  Send(std::move(resp));
}

void Raft::Tick() {
  if (quiesced_) return;
  if (role_ != Role::kLeader) {
    ++election_elapsed_;
    if (Promotable() && election_elapsed_ >= randomized_election_timeout_) {
      election_elapsed_ = 0;
      Campaign();
    }
    return;
  }
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_timeout_) {
    election_elapsed_ = 0;
    if (check_quorum_) {
      if (Progress* self = tracker_.Find(id_)) self->set_recent_active(true);
      if (!tracker_.QuorumActive()) {
        // Thesis §6.2: cannot reach a quorum; let the others elect.
        BecomeFollower(term_, kNoNode);
        return;
      }
      for (auto& [id, pr] : tracker_.progress()) {
        if (id != id_) pr.set_recent_active(false);
      }
    }
    // Thesis §3.10: a transfer that did not finish in an election timeout
    // is abandoned so that the leader accepts proposals again.
    AbortLeaderTransfer();
  }
  if (heartbeat_elapsed_ >= heartbeat_timeout_) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat(read_only_.LastPendingCtx());
  }
}

absl::Status Raft::Propose(std::string data) {
  Unquiesce();
  if (role_ != Role::kLeader) {
    return absl::FailedPreconditionError(absl::StrCat(
        "not leader of group ", group_.value(), "; leader is ", lead_.value()));
  }
  if (lead_transferee_ != kNoNode) {
    return absl::UnavailableError(
        absl::StrCat("leadership transfer of group ", group_.value(),
                     " to node ", lead_transferee_.value(), " in progress"));
  }
  Entry e;
  e.set_type(ENTRY_TYPE_NORMAL);
  e.set_data(std::move(data));
  std::vector<Entry> entries{std::move(e)};
  if (!IncreaseUncommittedSize(entries)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("group ", group_.value(), ": uncommitted entries exceed ",
                     max_uncommitted_size_, " bytes"));
  }
  AppendEntries(std::move(entries));
  return absl::OkStatus();
}

absl::Status Raft::ProposeConfChange(const ConfChange& cc) {
  Unquiesce();
  if (role_ != Role::kLeader) {
    return absl::FailedPreconditionError(absl::StrCat(
        "not leader of group ", group_.value(), "; leader is ", lead_.value()));
  }
  if (lead_transferee_ != kNoNode) {
    return absl::UnavailableError(
        absl::StrCat("leadership transfer of group ", group_.value(),
                     " to node ", lead_transferee_.value(), " in progress"));
  }
  if (pending_conf_index_ > log_.applied()) {
    return absl::FailedPreconditionError(
        absl::StrCat("group ", group_.value(), ": conf change at index ",
                     pending_conf_index_.value(), " not yet applied (applied ",
                     log_.applied().value(), ")"));
  }
  if (!CommittedEntryInCurrentTerm()) {
    // Ongaro's 2015 fix to single-server changes: a new leader first commits
    // an entry of its own term.
    return absl::FailedPreconditionError(
        absl::StrCat("group ", group_.value(),
                     ": leader has not committed an entry of its term yet"));
  }
  absl::StatusOr<TrackerConfig> next = NextConfig(tracker_.config(), cc);
  if (!next.ok()) return next.status();
  Entry e;
  e.set_type(ENTRY_TYPE_CONF_CHANGE);
  e.set_data(cc.SerializeAsString());
  AppendEntries({std::move(e)});
  pending_conf_index_ = log_.LastIndex();
  return absl::OkStatus();
}

absl::Status Raft::TransferLeadership(NodeId to) {
  Unquiesce();
  if (role_ != Role::kLeader) {
    if (lead_ == kNoNode) {
      return absl::FailedPreconditionError(absl::StrCat(
          "group ", group_.value(), " has no known leader to transfer from"));
    }
    Message m;
    m.set_type(MESSAGE_TYPE_TRANSFER_LEADER);
    m.set_to(lead_.value());
    m.set_transferee(to.value());
    Send(std::move(m));
    return absl::OkStatus();
  }
  if (to == id_) return absl::OkStatus();
  Progress* pr = tracker_.Find(to);
  if (pr == nullptr || pr->is_learner()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node ", to.value(), " is not a voter of group ", group_.value()));
  }
  if (lead_transferee_ == to) return absl::OkStatus();
  lead_transferee_ = to;
  // The transfer must finish within an election timeout (thesis §3.10).
  election_elapsed_ = 0;
  if (pr->match() == log_.LastIndex()) {
    SendTimeoutNow(to);
  } else {
    SendAppendsUntilPaused(to, true);
  }
  return absl::OkStatus();
}

absl::Status Raft::ReadIndex(std::string ctx) {
  Unquiesce();
  if (role_ == Role::kLeader) {
    HandleReadIndex(ctx, id_);
    return absl::OkStatus();
  }
  if (role_ != Role::kFollower || lead_ == kNoNode) {
    return absl::FailedPreconditionError(absl::StrCat(
        "group ", group_.value(), " has no known leader for ReadIndex"));
  }
  Message m;
  m.set_type(MESSAGE_TYPE_READ_INDEX);
  m.set_to(lead_.value());
  m.set_context(std::move(ctx));
  Send(std::move(m));
  return absl::OkStatus();
}

absl::StatusOr<Raft::ConfState> Raft::ApplyConfChange(const ConfChange& cc) {
  absl::StatusOr<TrackerConfig> next = NextConfig(tracker_.config(), cc);
  if (!next.ok()) return next.status();
  SwitchToConfig(*next);
  return next->ToConfState();
}

void Raft::LeaderUnreachable(NodeId peer) {
  if (role_ != Role::kFollower || peer == kNoNode || lead_ != peer) return;
  Unquiesce();
  const int jitter = static_cast<int>(random_->Uniform(3));
  election_elapsed_ =
      std::max(election_timeout_, randomized_election_timeout_ - 1 - jitter);
}

bool Raft::MaybeQuiesce() {
  if (quiesced_) return true;
  if (role_ != Role::kLeader || lead_transferee_ != kNoNode ||
      read_only_.size() > 0 || !reads_waiting_for_commit_.empty() ||
      pending_broadcast_) {
    return false;
  }
  const Index last = log_.LastIndex();
  if (log_.committed() != last || log_.applied() != last ||
      !CommittedEntryInCurrentTerm()) {
    return false;
  }
  // Every member caught up and heard from since the last quorum check: a
  // member that is down or behind keeps the group awake, so it is caught up
  // (or found missing) without waiting for a wake-up.
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id != id_ && (pr.match() != last || !pr.recent_active())) return false;
  }
  for (auto& [id, pr] : tracker_.progress()) {
    if (id == id_) continue;
    Message m;
    m.set_type(MESSAGE_TYPE_HEARTBEAT);
    m.set_to(id.value());
    m.set_commit(last.value());
    m.set_quiesce(true);
    pr.set_sent_commit(last);
    Send(std::move(m));
  }
  quiesced_ = true;
  return true;
}

void Raft::Unquiesce() {
  if (!quiesced_) return;
  quiesced_ = false;
  // A fresh check-quorum window: nobody answered while we were quiet, so
  // the followers must show they are alive again before the next check
  // (and before the group may quiesce again).
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  if (role_ == Role::kLeader) {
    for (auto& [id, pr] : tracker_.progress()) {
      if (id != id_) pr.set_recent_active(false);
    }
  }
}

void Raft::ReportUnreachable(NodeId id) {
  if (role_ != Role::kLeader) return;
  Progress* pr = tracker_.Find(id);
  if (pr != nullptr && pr->state() == ProgressState::kReplicate) {
    pr->BecomeProbe();
  }
}

void Raft::ReportSnapshot(NodeId id, bool success) {
  if (role_ != Role::kLeader) return;
  Progress* pr = tracker_.Find(id);
  if (pr == nullptr || pr->state() != ProgressState::kSnapshot) return;
  // On failure forget the snapshot so probing resumes from match; on success
  // resume right after it. Either way wait for the next heartbeat response
  // before sending (the follower may still be busy installing).
  if (!success) pr->BecomeSnapshot(Index(0));
  pr->BecomeProbe();
  pr->set_probe_sent(true);
}

void Raft::OnAppendDurable(Index index, Term term) {
  log_.unstable().StableTo(index, term);
  if (role_ != Role::kLeader) return;
  // Thesis §10.2.1: the leader writes in parallel with replication and counts
  // itself only for what is durable.
  Progress* self = tracker_.Find(id_);
  if (self != nullptr && self->MaybeUpdate(log_.DurableLastIndex()) &&
      MaybeCommit()) {
    OnCommitAdvanced();
  }
}

void Raft::OnSnapshotDurable(Index index) {
  log_.unstable().StableSnapTo(index);
}

void Raft::OnApplied(Index index, const std::vector<Entry>& applied_entries) {
  log_.AppliedTo(index);
  if (role_ != Role::kLeader) return;
  uint64_t size = PayloadSize(applied_entries);
  uncommitted_size_ = size > uncommitted_size_ ? 0 : uncommitted_size_ - size;
  const TrackerConfig& cfg = tracker_.config();
  if (cfg.Joint() && cfg.auto_leave && index >= pending_conf_index_) {
    // Thesis §4.3: once the joint configuration is committed, move on to the
    // new one.
    Entry e;
    e.set_type(ENTRY_TYPE_CONF_CHANGE);
    e.set_data(ConfChange().SerializeAsString());
    AppendEntries({std::move(e)});
    pending_conf_index_ = log_.LastIndex();
  }
}

// ---------------------------------------------------------------------------
// Leader.

void Raft::StepLeader(const Message& m) {
  switch (m.type()) {
    case MESSAGE_TYPE_APPEND_RESPONSE:
      HandleAppendResponse(m);
      break;
    case MESSAGE_TYPE_HEARTBEAT_RESPONSE:
      HandleHeartbeatResponse(m);
      break;
    case MESSAGE_TYPE_READ_INDEX:
      if (tracker_.Find(NodeId(m.from())) != nullptr) {
        HandleReadIndex(m.context(), NodeId(m.from()));
      }
      break;
    case MESSAGE_TYPE_TRANSFER_LEADER:
      (void)TransferLeadership(NodeId(m.transferee()));
      break;
    default:
      break;  // stale votes and responses
  }
}

void Raft::HandleAppendResponse(const Message& m) {
  const NodeId from(m.from());
  Progress* pr = tracker_.Find(from);
  if (pr == nullptr) return;
  pr->set_recent_active(true);
  if (m.reject()) {
    // Fast backtracking: jump past every entry of a conflicting term at once.
    Index hint(m.reject_hint());
    if (m.log_term() > 0) {
      hint = log_.FindConflictByTerm(hint, Term(m.log_term())).first;
    }
    if (pr->MaybeDecrTo(Index(m.index()), hint)) {
      if (pr->state() == ProgressState::kReplicate) pr->BecomeProbe();
      SendAppend(from, true);
    }
    return;
  }
  if (!pr->MaybeUpdate(Index(m.index()))) return;
  switch (pr->state()) {
    case ProgressState::kProbe:
      pr->BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      // The follower has the snapshot (or enough of the log anyway): resume
      // normal replication right after its match.
      if (pr->match() + 1 >= log_.FirstIndex()) pr->BecomeReplicate();
      break;
    case ProgressState::kReplicate:
      pr->mutable_inflights().FreeLE(pr->match());
      break;
  }
  if (MaybeCommit()) OnCommitAdvanced();
  // Pipelining: keep the window full; and tell a follower that just caught
  // up about a commit it has not heard of yet.
  SendAppendsUntilPaused(from, false);
  if (pr->sent_commit() < log_.committed()) SendAppend(from, true);
  if (from == lead_transferee_ && pr->match() == log_.LastIndex()) {
    SendTimeoutNow(from);
  }
}

void Raft::HandleHeartbeatResponse(const Message& m) {
  const NodeId from(m.from());
  Progress* pr = tracker_.Find(from);
  if (pr == nullptr) return;
  pr->set_recent_active(true);
  pr->set_probe_sent(false);
  // The peer is alive but its window stayed full: appends were lost. Open one
  // slot; the next append's rejection (if any) sends us back to probing.
  if (pr->state() == ProgressState::kReplicate && pr->inflights().Full()) {
    pr->mutable_inflights().FreeFirstOne();
  }
  if (pr->match() < log_.LastIndex() || pr->state() == ProgressState::kProbe) {
    Unquiesce();
    SendAppend(from, true);
  }
  if (m.context().empty()) return;
  const absl::btree_set<NodeId>* acks = read_only_.Ack(m.context(), from);
  if (acks == nullptr) return;
  const TrackerConfig& cfg = tracker_.config();
  VoteResult r = JointVote(cfg.voters, cfg.voters_outgoing,
                           [&](NodeId id) -> std::optional<bool> {
                             if (acks->contains(id)) return true;
                             return std::nullopt;
                           });
  if (r != VoteResult::kWon) return;
  for (const ReadOnly::Request& req : read_only_.ReleaseThrough(m.context())) {
    RespondToRead(req);
  }
}

void Raft::HandleReadIndex(const std::string& ctx, NodeId from) {
  const TrackerConfig& cfg = tracker_.config();
  if (!cfg.Joint() && cfg.voters.size() == 1 && cfg.voters.contains(id_)) {
    RespondToRead({ctx, log_.committed(), from});
    return;
  }
  if (!CommittedEntryInCurrentTerm()) {
    // Thesis §6.4 step 1: our commit index is only known current once an
    // entry of our term committed; answer after that.
    reads_waiting_for_commit_.emplace_back(ctx, from);
    return;
  }
  if (!read_only_.Add(ctx, log_.committed(), from)) return;
  read_only_.Ack(ctx, id_);
  BroadcastHeartbeat(ctx);
}

void Raft::RespondToRead(const ReadOnly::Request& req) {
  if (req.from == id_) {
    read_states_.push_back({req.index, req.ctx});
    return;
  }
  Message m;
  m.set_type(MESSAGE_TYPE_READ_INDEX_RESPONSE);
  m.set_to(req.from.value());
  m.set_index(req.index.value());
  m.set_context(req.ctx);
  Send(std::move(m));
}

void Raft::AppendEntries(std::vector<Entry> entries) {
  Index next = log_.LastIndex() + 1;
  for (Entry& e : entries) {
    e.set_term(term_.value());
    e.set_index(next.value());
    ++next;
  }
  log_.Append(entries);
  // Replication waits for the next Ready so that every proposal made until
  // then travels in one APPEND per follower.
  pending_broadcast_ = true;
}

void Raft::FlushProposals() {
  if (!pending_broadcast_) return;
  pending_broadcast_ = false;
  if (role_ == Role::kLeader) BroadcastAppend();
}

bool Raft::SendAppend(NodeId to, bool send_if_empty) {
  if (to == id_) return false;
  Progress* pr = tracker_.Find(to);
  if (pr == nullptr || pr->IsPaused()) return false;
  const Index prev = pr->next() - 1;
  absl::StatusOr<Term> prev_term = log_.TermAt(prev);
  absl::StatusOr<std::vector<Entry>> entries =
      log_.EntriesFrom(pr->next(), max_size_per_msg_);
  if (!prev_term.ok() || !entries.ok()) {
    // The entries are compacted: only a snapshot can help (thesis §5.1).
    return SendSnapshot(to, pr);
  }
  if (entries->empty() && !send_if_empty) return false;
  uint64_t bytes = PayloadSize(*entries);
  size_t count = entries->size();
  Message m;
  m.set_type(MESSAGE_TYPE_APPEND);
  m.set_to(to.value());
  m.set_index(prev.value());
  m.set_log_term(prev_term->value());
  m.set_commit(log_.committed().value());
  for (Entry& e : *entries) *m.add_entries() = std::move(e);
  pr->SentEntries(count, bytes);
  pr->set_sent_commit(log_.committed());
  Send(std::move(m));
  return true;
}

void Raft::SendAppendsUntilPaused(NodeId to, bool send_if_empty) {
  if (!SendAppend(to, send_if_empty) && !send_if_empty) return;
  while (SendAppend(to, false)) {
  }
}

bool Raft::SendSnapshot(NodeId to, Progress* pr) {
  absl::StatusOr<sluice::internal::raft::SnapshotMetadata> meta =
      log_.SnapshotMetadata();
  // No snapshot yet: the host will create one (it compacted the log, so one
  // must exist soon); retry on the next heartbeat response.
  if (!meta.ok() || meta->index() == 0) return false;
  Message m;
  m.set_type(MESSAGE_TYPE_SNAPSHOT);
  m.set_to(to.value());
  *m.mutable_snapshot()->mutable_metadata() = *meta;
  pr->BecomeSnapshot(Index(meta->index()));
  Send(std::move(m));
  return true;
}

void Raft::BroadcastAppend() {
  for (const auto& [id, pr] : tracker_.progress()) {
    if (id != id_) SendAppendsUntilPaused(id, true);
  }
}

void Raft::BroadcastHeartbeat(const std::string& ctx) {
  for (auto& [id, pr] : tracker_.progress()) {
    if (id == id_) continue;
    Message m;
    m.set_type(MESSAGE_TYPE_HEARTBEAT);
    m.set_to(id.value());
    // Never ahead of what the follower is known to hold.
    m.set_commit(std::min(pr.match(), log_.committed()).value());
    pr.set_sent_commit(Index(m.commit()));
    m.set_context(ctx);
    Send(std::move(m));
  }
}

void Raft::SendTimeoutNow(NodeId to) {
  Message m;
  m.set_type(MESSAGE_TYPE_TIMEOUT_NOW);
  m.set_to(to.value());
  Send(std::move(m));
}

bool Raft::MaybeCommit() {
  return log_.MaybeCommit(tracker_.Committed(), term_);
}

void Raft::OnCommitAdvanced() {
  if (!reads_waiting_for_commit_.empty() && CommittedEntryInCurrentTerm()) {
    auto waiting = std::move(reads_waiting_for_commit_);
    reads_waiting_for_commit_.clear();
    for (auto& [ctx, from] : waiting) HandleReadIndex(ctx, from);
  }
  BroadcastAppend();
}

bool Raft::CommittedEntryInCurrentTerm() const {
  return log_.TermOrZero(log_.committed()) == term_;
}

bool Raft::IncreaseUncommittedSize(const std::vector<Entry>& entries) {
  uint64_t size = PayloadSize(entries);
  // An entry larger than the limit is still accepted when nothing is pending,
  // so that it cannot be stuck forever.
  if (max_uncommitted_size_ != 0 && uncommitted_size_ > 0 &&
      uncommitted_size_ + size > max_uncommitted_size_) {
    return false;
  }
  uncommitted_size_ += size;
  return true;
}

void Raft::SwitchToConfig(const TrackerConfig& config) {
  tracker_.SetConfig(config, log_.LastIndex() + 1);
  if (role_ != Role::kLeader) return;
  if (!config.IsVoter(id_)) {
    // Removed (or demoted): the change is committed, so the new configuration
    // can elect a leader without us (thesis §4.2.2).
    BecomeFollower(term_, kNoNode);
    return;
  }
  if (lead_transferee_ != kNoNode && !config.IsVoter(lead_transferee_)) {
    AbortLeaderTransfer();
  }
  // The quorum changed: commit may move, and new members need appends.
  if (MaybeCommit()) {
    OnCommitAdvanced();
  } else {
    BroadcastAppend();
  }
}

// ---------------------------------------------------------------------------
// Candidate and follower.

void Raft::StepCandidate(const Message& m) {
  const NodeId from(m.from());
  switch (m.type()) {
    case MESSAGE_TYPE_APPEND:
      BecomeFollower(term_, from);
      HandleAppend(m);
      return;
    case MESSAGE_TYPE_HEARTBEAT:
      BecomeFollower(term_, from);
      HandleHeartbeat(m);
      return;
    case MESSAGE_TYPE_SNAPSHOT:
      BecomeFollower(term_, from);
      HandleSnapshot(m);
      return;
    case MESSAGE_TYPE_PRE_VOTE_RESPONSE:
    case MESSAGE_TYPE_VOTE_RESPONSE: {
      const bool pre = role_ == Role::kPreCandidate;
      if (pre != (m.type() == MESSAGE_TYPE_PRE_VOTE_RESPONSE)) return;
      tracker_.RecordVote(from, !m.reject());
      switch (tracker_.TallyVotes()) {
        case VoteResult::kWon:
          if (pre) {
            StartCampaign(CampaignKind::kElection);
          } else {
            BecomeLeader();
          }
          break;
        case VoteResult::kLost:
          BecomeFollower(term_, kNoNode);
          break;
        case VoteResult::kPending:
          break;
      }
      return;
    }
    default:
      return;
  }
}

void Raft::StepFollower(const Message& m) {
  const NodeId from(m.from());
  switch (m.type()) {
    case MESSAGE_TYPE_APPEND:
      election_elapsed_ = 0;
      lead_ = from;
      HandleAppend(m);
      break;
    case MESSAGE_TYPE_HEARTBEAT:
      election_elapsed_ = 0;
      lead_ = from;
      HandleHeartbeat(m);
      break;
    case MESSAGE_TYPE_SNAPSHOT:
      election_elapsed_ = 0;
      lead_ = from;
      HandleSnapshot(m);
      break;
    case MESSAGE_TYPE_TIMEOUT_NOW:
      // Thesis §3.10: the leader asks us to campaign at once, skipping
      // pre-vote; voters will not refuse for having a live leader.
      Hup(CampaignKind::kTransfer);
      break;
    case MESSAGE_TYPE_READ_INDEX_RESPONSE:
      read_states_.push_back({Index(m.index()), m.context()});
      break;
    default:
      break;
  }
}

void Raft::HandleAppend(const Message& m) {
  const NodeId from(m.from());
  Message resp;
  resp.set_type(MESSAGE_TYPE_APPEND_RESPONSE);
  resp.set_to(from.value());
  const Index prev(m.index());
  if (prev < log_.committed()) {
    resp.set_index(log_.committed().value());
    Send(std::move(resp));
    return;
  }
  std::vector<Entry> entries(m.entries().begin(), m.entries().end());
  std::optional<Index> last =
      log_.MaybeAppend(prev, Term(m.log_term()), Index(m.commit()), entries);
  if (last) {
    resp.set_index(last->value());
    Send(std::move(resp));
    return;
  }
  // Reject with a hint: the last index that might match, and its term, so the
  // leader can skip a whole conflicting term per round trip.
  auto [hint_index, hint_term] = log_.FindConflictByTerm(
      std::min(prev, log_.LastIndex()), Term(m.log_term()));
  resp.set_reject(true);
  resp.set_index(prev.value());
  resp.set_reject_hint(hint_index.value());
  resp.set_log_term(hint_term.value());
  Send(std::move(resp));
}

void Raft::HandleHeartbeat(const Message& m) {
  // A leader sends min(match, commit), never past our log. More means a
  // faulty peer, or that we lost durable entries: commit nothing (always
  // safe) rather than crash on it.
  if (Index(m.commit()) > log_.LastIndex()) {
    SLUICE_LOG(ERROR) << "group=" << group_ << " term=" << term_
                      << " index=" << log_.LastIndex() << " heartbeat from "
                      << m.from() << " commits " << m.commit()
                      << ", past our last index; ignored";
  } else {
    log_.CommitTo(Index(m.commit()));
  }
  if (m.quiesce() && role_ == Role::kFollower && lead_ == NodeId(m.from()) &&
      log_.LastIndex() == Index(m.commit()) &&
      log_.committed() == log_.LastIndex()) {
    // No answer: it would wake the leader. A follower that is missing
    // entries answers and so wakes the leader, which then catches it up.
    quiesced_ = true;
    return;
  }
  Message resp;
  resp.set_type(MESSAGE_TYPE_HEARTBEAT_RESPONSE);
  resp.set_to(m.from());
  resp.set_context(m.context());
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const Message& m) {
  Message resp;
  resp.set_type(MESSAGE_TYPE_APPEND_RESPONSE);
  resp.set_to(m.from());
  if (RestoreSnapshot(m.snapshot())) {
    resp.set_index(log_.LastIndex().value());
  } else {
    resp.set_index(log_.committed().value());
  }
  Send(std::move(resp));
}

bool Raft::RestoreSnapshot(const sluice::internal::raft::Snapshot& snapshot) {
  const Index index(snapshot.metadata().index());
  const Term term(snapshot.metadata().term());
  // Never roll back: an older snapshot than our commit is useless.
  if (index <= log_.committed()) return false;
  if (log_.MatchTerm(index, term)) {
    // Thesis §5.1: our log already contains the snapshot's last entry, so
    // keep the entries after it and just learn the commit.
    log_.CommitTo(index);
    return false;
  }
  absl::StatusOr<TrackerConfig> config =
      ConfigFromConfState(snapshot.metadata().conf_state());
  if (!config.ok()) return false;
  log_.Restore(snapshot);
  tracker_.SetConfig(*config, log_.LastIndex() + 1);
  tracker_.ResetProgress(log_.LastIndex() + 1);
  return true;
}

// ---------------------------------------------------------------------------
// Output.

void Raft::Send(Message m) {
  m.set_group(group_.value());
  m.set_from(id_.value());
  // Vote requests and granted pre-votes carry their own term.
  if (m.term() == 0) m.set_term(term_.value());
  if (NeedsPersistFirst(m.type())) {
    msgs_after_persist_.push_back(std::move(m));
  } else {
    msgs_.push_back(std::move(m));
  }
}

}  // namespace sluice::raft
