#include "raft/core/raw_node.h"

#include <utility>

#include "base/logging.h"

namespace sluice::raft {
namespace {

bool SameHardState(const sluice::internal::raft::HardState& a,
                   const sluice::internal::raft::HardState& b) {
  return a.term() == b.term() && a.vote() == b.vote() &&
         a.commit() == b.commit();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RawNode>> RawNode::Create(
    const Config& config, const LogStorage* storage) {
  absl::StatusOr<std::unique_ptr<Raft>> raft = Raft::Create(config, storage);
  if (!raft.ok()) return raft.status();
  return std::unique_ptr<RawNode>(new RawNode(std::move(*raft)));
}

RawNode::RawNode(std::unique_ptr<Raft> raft)
    : raft_(std::move(raft)),
      prev_soft_(raft_->soft_state()),
      prev_hard_(raft_->hard_state()) {}

bool RawNode::HasReady() const {
  const Raft& r = *raft_;
  if (r.soft_state() != prev_soft_) return true;
  if (!SameHardState(r.hard_state(), prev_hard_)) return true;
  if (r.HasPendingProposals() || r.HasMessages() || r.HasReadStates()) {
    return true;
  }
  const RaftLog& log = r.log();
  if (log.unstable().NextSnapshot() || !log.unstable().NextEntries().empty()) {
    return true;
  }
  return log.HasNextCommittedEntries();
}

Ready RawNode::GetReady() {
  SLUICE_CHECK(!ready_outstanding_)
      << "group=" << raft_->group() << " term=" << raft_->term()
      << " index=" << raft_->log().LastIndex()
      << " GetReady called before Advance of the previous Ready";
  raft_->FlushProposals();
  Ready rd;
  RaftLog& log = raft_->mutable_log();
  SoftState soft = raft_->soft_state();
  if (soft != prev_soft_) {
    rd.soft_state = soft;
    prev_soft_ = soft;
  }
  sluice::internal::raft::HardState hard = raft_->hard_state();
  if (!SameHardState(hard, prev_hard_)) {
    rd.must_sync =
        hard.term() != prev_hard_.term() || hard.vote() != prev_hard_.vote();
    rd.hard_state = hard;
    prev_hard_ = hard;
  }
  rd.snapshot = log.unstable().NextSnapshot();
  rd.entries = log.unstable().NextEntries();
  if (!rd.entries.empty()) rd.must_sync = true;
  rd.committed_entries = log.NextCommittedEntries(0);
  rd.messages = raft_->TakeMessages();
  rd.messages_after_persist = raft_->TakeMessagesAfterPersist();
  rd.read_states = raft_->TakeReadStates();

  log.unstable().AcceptInProgress();
  if (!rd.committed_entries.empty()) {
    log.AcceptApplying(Index(rd.committed_entries.back().index()));
  }
  ready_outstanding_ = true;
  pending_append_.reset();
  if (!rd.entries.empty()) {
    pending_append_.emplace(Index(rd.entries.back().index()),
                            Term(rd.entries.back().term()));
  }
  pending_snapshot_.reset();
  if (rd.snapshot) pending_snapshot_ = Index(rd.snapshot->metadata().index());
  pending_applied_ = rd.committed_entries;
  return rd;
}

void RawNode::Advance() {
  SLUICE_CHECK(ready_outstanding_)
      << "group=" << raft_->group() << " term=" << raft_->term()
      << " Advance without an outstanding Ready";
  ready_outstanding_ = false;
  if (pending_snapshot_) raft_->OnSnapshotDurable(*pending_snapshot_);
  if (pending_append_) {
    raft_->OnAppendDurable(pending_append_->first, pending_append_->second);
  }
  if (!pending_applied_.empty()) {
    Index last(pending_applied_.back().index());
    raft_->OnApplied(last, pending_applied_);
  }
  pending_append_.reset();
  pending_snapshot_.reset();
  pending_applied_.clear();
}

}  // namespace sluice::raft
