#include "raft/core/raft_log.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "base/logging.h"

namespace sluice::raft {

RaftLog::RaftLog(const LogStorage* storage, GroupId group, Index applied)
    : storage_(storage),
      group_(group),
      unstable_(storage->LastIndex() + 1),
      committed_(storage->FirstIndex() - 1),
      applying_(storage->FirstIndex() - 1),
      applied_(storage->FirstIndex() - 1) {
  if (applied > applied_) applied_ = applying_ = applied;
}

Index RaftLog::FirstIndex() const {
  if (auto i = unstable_.MaybeFirstIndex()) return *i;
  return storage_->FirstIndex();
}

Index RaftLog::LastIndex() const {
  if (auto i = unstable_.MaybeLastIndex()) return *i;
  return storage_->LastIndex();
}

absl::StatusOr<Term> RaftLog::TermAt(Index index) const {
  if (auto t = unstable_.MaybeTerm(index)) return *t;
  if (index < FirstIndex() - 1) return CompactedError(index);
  if (index > LastIndex()) return UnavailableError(index);
  if (index >= unstable_.offset()) return UnavailableError(index);
  return storage_->TermAt(index);
}

Term RaftLog::TermOrZero(Index index) const {
  absl::StatusOr<Term> t = TermAt(index);
  if (t.ok()) return *t;
  SLUICE_CHECK(IsCompacted(t.status()) || IsLogUnavailable(t.status()))
      << "group=" << group_ << " index=" << index
      << " storage error: " << t.status();
  return Term(0);
}

bool RaftLog::MatchTerm(Index index, Term term) const {
  absl::StatusOr<Term> t = TermAt(index);
  return t.ok() && *t == term;
}

bool RaftLog::IsUpToDate(Index last_index, Term last_term) const {
  Term mine = LastTerm();
  return last_term > mine || (last_term == mine && last_index >= LastIndex());
}

Index RaftLog::FindConflict(const std::vector<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (!MatchTerm(Index(e.index()), Term(e.term()))) return Index(e.index());
  }
  return Index(0);
}

std::optional<Index> RaftLog::MaybeAppend(Index prev, Term prev_term,
                                          Index commit,
                                          const std::vector<Entry>& entries) {
  if (!MatchTerm(prev, prev_term)) return std::nullopt;
  Index last_new = prev + entries.size();
  Index conflict = FindConflict(entries);
  if (conflict != Index(0)) {
    SLUICE_CHECK(conflict > committed_)
        << "group=" << group_ << " index=" << conflict
        << " conflicts with committed entry (committed=" << committed_ << ")";
    std::vector<Entry> rest(entries.begin() + (conflict - (prev + 1)),
                            entries.end());
    Append(rest);
  }
  CommitTo(std::min(commit, last_new));
  return last_new;
}

Index RaftLog::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return LastIndex();
  SLUICE_CHECK(Index(entries.front().index()) > committed_)
      << "group=" << group_ << " term=" << entries.front().term()
      << " index=" << entries.front().index()
      << " append would overwrite committed=" << committed_;
  unstable_.TruncateAndAppend(entries);
  return LastIndex();
}

std::pair<Index, Term> RaftLog::FindConflictByTerm(Index index,
                                                   Term term) const {
  for (;;) {
    absl::StatusOr<Term> t = TermAt(index);
    if (!t.ok()) return {index, Term(0)};
    if (*t <= term || index == Index(0)) return {index, *t};
    --index;
  }
}

absl::StatusOr<std::vector<RaftLog::Entry>> RaftLog::Slice(
    Index lo, Index hi, uint64_t max_bytes) const {
  if (lo >= hi) return std::vector<Entry>();
  if (lo < FirstIndex()) return CompactedError(lo);
  SLUICE_CHECK(hi <= LastIndex() + 1)
      << "group=" << group_ << " slice [" << lo << "," << hi
      << ") past last index " << LastIndex();
  std::vector<Entry> out;
  uint64_t bytes = 0;
  const uint64_t limit = max_bytes == 0 ? UINT64_MAX : max_bytes;
  if (lo < unstable_.offset()) {
    Index stored_hi = std::min(hi, unstable_.offset());
    absl::StatusOr<std::vector<Entry>> stored =
        storage_->Entries(lo, stored_hi, limit);
    if (!stored.ok()) {
      SLUICE_CHECK(IsCompacted(stored.status()))
          << "group=" << group_ << " index=" << lo
          << " storage error: " << stored.status();
      return stored.status();
    }
    out = std::move(*stored);
    for (const Entry& e : out) bytes += e.ByteSizeLong();
    // Storage stopped early because of the byte limit.
    if (out.size() < stored_hi - lo) return out;
  }
  if (hi > unstable_.offset()) {
    Index from = std::max(lo, unstable_.offset());
    for (Entry& e : unstable_.Slice(from, hi)) {
      uint64_t size = e.ByteSizeLong();
      if (!out.empty() && bytes + size > limit) break;
      bytes += size;
      out.push_back(std::move(e));
    }
  }
  return out;
}

absl::StatusOr<std::vector<RaftLog::Entry>> RaftLog::EntriesFrom(
    Index lo, uint64_t max_bytes) const {
  if (lo > LastIndex()) return std::vector<Entry>();
  return Slice(lo, LastIndex() + 1, max_bytes);
}

bool RaftLog::MaybeCommit(Index index, Term term) {
  if (index > committed_ && TermOrZero(index) == term) {
    CommitTo(index);
    return true;
  }
  return false;
}

void RaftLog::CommitTo(Index index) {
  if (index <= committed_) return;
  SLUICE_CHECK(index <= LastIndex())
      << "group=" << group_ << " index=" << index << " commit past last index "
      << LastIndex();
  committed_ = index;
}

bool RaftLog::HasNextCommittedEntries() const {
  // A pending snapshot must be installed before entries after it apply.
  if (unstable_.snapshot()) return false;
  return committed_ > applying_;
}

std::vector<RaftLog::Entry> RaftLog::NextCommittedEntries(
    uint64_t max_bytes) const {
  if (!HasNextCommittedEntries()) return {};
  absl::StatusOr<std::vector<Entry>> entries =
      Slice(applying_ + 1, committed_ + 1, max_bytes);
  SLUICE_CHECK(entries.ok())
      << "group=" << group_ << " index=" << applying_ + 1
      << " committed entries unavailable: " << entries.status();
  return std::move(*entries);
}

void RaftLog::AcceptApplying(Index index) {
  SLUICE_CHECK(index <= committed_)
      << "group=" << group_ << " index=" << index << " applying uncommitted";
  applying_ = std::max(applying_, index);
}

void RaftLog::AppliedTo(Index index) {
  // A snapshot restored while these entries were being applied already moved
  // applied past them.
  if (index <= applied_) return;
  SLUICE_CHECK(index <= committed_) << "group=" << group_ << " index=" << index
                                    << " applied past commit " << committed_;
  applied_ = index;
  applying_ = std::max(applying_, index);
}

absl::StatusOr<sluice::internal::raft::SnapshotMetadata>
RaftLog::SnapshotMetadata() const {
  if (unstable_.snapshot()) return unstable_.snapshot()->metadata();
  return storage_->SnapshotMetadata();
}

void RaftLog::Restore(const Snapshot& snapshot) {
  Index index(snapshot.metadata().index());
  committed_ = index;
  // The host installs the snapshot before applying anything after it.
  applying_ = applied_ = index;
  unstable_.Restore(snapshot);
}

Index RaftLog::DurableLastIndex() const {
  if (unstable_.snapshot()) return Index(0);
  return unstable_.offset() - 1;
}

std::string RaftLog::DebugString() const {
  return absl::StrFormat("committed=%d applied=%d unstable.offset=%d last=%d",
                         committed_.value(), applied_.value(),
                         unstable_.offset().value(), LastIndex().value());
}

}  // namespace sluice::raft
