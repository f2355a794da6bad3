#include "raft/core/progress.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "base/logging.h"

namespace sluice::raft {

const char* ProgressStateName(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "probe";
    case ProgressState::kReplicate:
      return "replicate";
    case ProgressState::kSnapshot:
      return "snapshot";
  }
  return "?";
}

void Progress::ResetState(ProgressState state) {
  probe_sent_ = false;
  pending_snapshot_ = Index(0);
  state_ = state;
  inflights_.Reset();
}

void Progress::BecomeProbe() {
  // After a snapshot, resume right after it: the peer has it (or, on failure,
  // pending_snapshot is already 0 and we probe from match).
  if (state_ == ProgressState::kSnapshot) {
    Index pending = pending_snapshot_;
    ResetState(ProgressState::kProbe);
    next_ = std::max(match_ + 1, pending + 1);
  } else {
    ResetState(ProgressState::kProbe);
    next_ = match_ + 1;
  }
}

void Progress::BecomeReplicate() {
  ResetState(ProgressState::kReplicate);
  next_ = match_ + 1;
}

void Progress::BecomeSnapshot(Index snapshot_index) {
  ResetState(ProgressState::kSnapshot);
  pending_snapshot_ = snapshot_index;
}

bool Progress::MaybeUpdate(Index index) {
  bool updated = false;
  if (match_ < index) {
    match_ = index;
    updated = true;
    probe_sent_ = false;
  }
  next_ = std::max(next_, index + 1);
  return updated;
}

void Progress::SentEntries(size_t count, uint64_t bytes) {
  switch (state_) {
    case ProgressState::kReplicate:
      if (count > 0) {
        next_ += count;
        inflights_.Add(next_ - 1, bytes);
      }
      break;
    case ProgressState::kProbe:
      probe_sent_ = true;
      break;
    case ProgressState::kSnapshot:
      SLUICE_CHECK(false) << "sending entries to a peer in snapshot state";
  }
}

bool Progress::MaybeDecrTo(Index rejected, Index match_hint) {
  if (state_ == ProgressState::kReplicate) {
    // Pipelined appends: a rejection at or below match is a stale duplicate.
    if (rejected <= match_) return false;
    next_ = match_ + 1;
    return true;
  }
  // Probing: only the rejection of the probe we sent last counts.
  if (next_ - 1 != rejected) return false;
  next_ = std::max(std::min(rejected, match_hint + 1), match_ + 1);
  probe_sent_ = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state_) {
    case ProgressState::kProbe:
      return probe_sent_;
    case ProgressState::kReplicate:
      return inflights_.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

std::string Progress::DebugString() const {
  return absl::StrFormat(
      "%s match=%d next=%d%s%s", ProgressStateName(state_), match_.value(),
      next_.value(), is_learner_ ? " learner" : "",
      state_ == ProgressState::kSnapshot
          ? absl::StrFormat(" pending_snapshot=%d", pending_snapshot_.value())
          : std::string());
}

}  // namespace sluice::raft
