#include "raft/leveldb/group_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "raft/storage/log_storage.h"

namespace sluice::raft::ldb {

absl::StatusOr<Term> GroupLog::TermAt(Index index) const {
  if (index < start_index_) return CompactedError(index);
  if (index > last_index_) return UnavailableError(index);
  if (index == start_index_) return start_term_;
  // The last run whose first index is <= index.
  auto it = std::upper_bound(
      runs_.begin(), runs_.end(), index,
      [](Index i, const TermRun& run) { return i < run.first; });
  return std::prev(it)->term;
}

absl::StatusOr<IndexRange> GroupLog::Append(Index first,
                                            absl::Span<const Term> terms) {
  if (!damage_.ok()) return damage_;
  if (terms.empty()) return IndexRange{};
  if (first <= start_index_ || first > last_index_ + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("group ", group_.value(), ": cannot append at index ",
                     first.value(), "; the log holds (", start_index_.value(),
                     ", ", last_index_.value(), "]"));
  }
  Term previous = *TermAt(first - 1);
  for (size_t i = 0; i < terms.size(); ++i) {
    if (terms[i] < previous) {
      return absl::InvalidArgumentError(
          absl::StrCat("group ", group_.value(), ": entry ",
                       (first + i).value(), " has term ", terms[i].value(),
                       " below the term ", previous.value(), " before it"));
    }
    previous = terms[i];
  }
  const Index old_last = last_index_;
  // Forget the terms of the replaced suffix.
  while (!runs_.empty() && runs_.back().first >= first) runs_.pop_back();
  for (size_t i = 0; i < terms.size(); ++i) {
    if (runs_.empty() || runs_.back().term != terms[i]) {
      runs_.push_back(TermRun{first + i, terms[i]});
    }
  }
  last_index_ = first + (terms.size() - 1);
  return IndexRange{last_index_ + 1, old_last};
}

absl::StatusOr<IndexRange> GroupLog::InstallSnapshot(
    const sluice::internal::raft::SnapshotMetadata& meta) {
  if (!damage_.ok()) return damage_;
  const Index index(meta.index());
  const Term term(meta.term());
  if (index.value() <= snapshot_.index()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "group ", group_.value(), ": snapshot at index ", index.value(),
        " is not newer than the stored one at ", snapshot_.index()));
  }
  snapshot_ = meta;
  absl::StatusOr<Term> stored = TermAt(index);
  if (stored.ok() && *stored == term) return IndexRange{};
  const IndexRange discarded{start_index_ + 1, last_index_};
  start_index_ = index;
  start_term_ = term;
  last_index_ = index;
  runs_.clear();
  return discarded;
}

absl::StatusOr<IndexRange> GroupLog::CompactTo(Index index) {
  if (!damage_.ok()) return damage_;
  if (index <= start_index_) return IndexRange{};
  if (index > last_index_ || index.value() > snapshot_.index()) {
    return absl::FailedPreconditionError(
        absl::StrCat("group ", group_.value(), ": cannot compact to index ",
                     index.value(), "; last index ", last_index_.value(),
                     ", snapshot index ", snapshot_.index()));
  }
  const IndexRange dropped{start_index_ + 1, index};
  start_term_ = *TermAt(index);
  start_index_ = index;
  // Keep the run that contains index + 1, starting there.
  auto it = std::upper_bound(
      runs_.begin(), runs_.end(), index + 1,
      [](Index i, const TermRun& run) { return i < run.first; });
  runs_.erase(runs_.begin(), std::prev(it));
  if (!runs_.empty()) runs_.front().first = index + 1;
  if (index == last_index_) runs_.clear();
  return dropped;
}

void GroupLog::RestoreStart(Index index, Term term) {
  start_index_ = index;
  start_term_ = term;
  last_index_ = index;
  runs_.clear();
}

void GroupLog::MarkDamaged(absl::Status status) {
  if (damage_.ok()) damage_ = std::move(status);
}

}  // namespace sluice::raft::ldb
