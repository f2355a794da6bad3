#include "raft/core/unstable.h"

#include <algorithm>

#include "base/logging.h"

namespace sluice::raft {

std::optional<Index> Unstable::MaybeFirstIndex() const {
  if (snapshot_) return Index(snapshot_->metadata().index() + 1);
  return std::nullopt;
}

std::optional<Index> Unstable::MaybeLastIndex() const {
  if (!entries_.empty()) return offset_ + (entries_.size() - 1);
  if (snapshot_) return Index(snapshot_->metadata().index());
  return std::nullopt;
}

std::optional<Term> Unstable::MaybeTerm(Index index) const {
  if (index < offset_) {
    if (snapshot_ && Index(snapshot_->metadata().index()) == index) {
      return Term(snapshot_->metadata().term());
    }
    return std::nullopt;
  }
  std::optional<Index> last = MaybeLastIndex();
  if (!last || index > *last) return std::nullopt;
  return Term(entries_[index - offset_].term());
}

std::vector<Unstable::Entry> Unstable::NextEntries() const {
  size_t start = in_progress_ - offset_;
  if (start >= entries_.size()) return {};
  return std::vector<Entry>(entries_.begin() + start, entries_.end());
}

std::optional<Unstable::Snapshot> Unstable::NextSnapshot() const {
  if (!snapshot_ || snapshot_in_progress_) return std::nullopt;
  return snapshot_;
}

void Unstable::AcceptInProgress() {
  in_progress_ = offset_ + entries_.size();
  if (snapshot_) snapshot_in_progress_ = true;
}

void Unstable::StableTo(Index index, Term term) {
  std::optional<Term> t = MaybeTerm(index);
  // Only entries (not the snapshot) can become stable this way, and only if
  // the entry is still the one that was written.
  if (!t || *t != term || index < offset_) return;
  size_t n = index - offset_ + 1;
  entries_.erase(entries_.begin(), entries_.begin() + n);
  offset_ = index + 1;
  in_progress_ = std::max(in_progress_, offset_);
}

void Unstable::StableSnapTo(Index index) {
  if (snapshot_ && Index(snapshot_->metadata().index()) == index) {
    snapshot_.reset();
    snapshot_in_progress_ = false;
  }
}

void Unstable::Restore(const Snapshot& snapshot) {
  offset_ = Index(snapshot.metadata().index() + 1);
  in_progress_ = offset_;
  entries_.clear();
  snapshot_ = snapshot;
  snapshot_in_progress_ = false;
}

void Unstable::TruncateAndAppend(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  Index from(entries.front().index());
  if (from == offset_ + entries_.size()) {
    entries_.insert(entries_.end(), entries.begin(), entries.end());
  } else if (from <= offset_) {
    // Replaces everything held; storage's suffix from `from` is overwritten
    // when the host writes these entries.
    entries_ = entries;
    offset_ = from;
    in_progress_ = offset_;
  } else {
    entries_.resize(from - offset_);
    entries_.insert(entries_.end(), entries.begin(), entries.end());
    in_progress_ = std::min(in_progress_, from);
  }
}

std::vector<Unstable::Entry> Unstable::Slice(Index lo, Index hi) const {
  SLUICE_CHECK(lo >= offset_ && lo <= hi && hi <= offset_ + entries_.size())
      << "unstable slice [" << lo << "," << hi << ") out of [" << offset_ << ","
      << offset_ + entries_.size() << ")";
  return std::vector<Entry>(entries_.begin() + (lo - offset_),
                            entries_.begin() + (hi - offset_));
}

}  // namespace sluice::raft
