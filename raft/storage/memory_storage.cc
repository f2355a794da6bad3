#include "raft/storage/memory_storage.h"

#include "absl/strings/str_cat.h"

namespace sluice::raft {

MemoryStorage::MemoryStorage(ConfState conf_state)
    : conf_state_(std::move(conf_state)), entries_(1) {
  *snapshot_.mutable_metadata()->mutable_conf_state() = conf_state_;
}

absl::StatusOr<InitialState> MemoryStorage::GetInitialState() const {
  return InitialState{hard_state_, conf_state_};
}

absl::StatusOr<std::vector<MemoryStorage::Entry>> MemoryStorage::Entries(
    Index lo, Index hi, uint64_t max_bytes) const {
  if (lo <= offset()) return CompactedError(lo);
  if (hi > LastIndex() + 1) return UnavailableError(hi - 1);
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - offset()];
    uint64_t size = e.ByteSizeLong();
    if (!out.empty() && bytes + size > max_bytes) break;
    bytes += size;
    out.push_back(e);
  }
  return out;
}

absl::StatusOr<Term> MemoryStorage::TermAt(Index index) const {
  if (index < offset()) return CompactedError(index);
  if (index > LastIndex()) return UnavailableError(index);
  return Term(entries_[index - offset()].term());
}

Index MemoryStorage::FirstIndex() const { return offset() + 1; }

Index MemoryStorage::LastIndex() const {
  return offset() + (entries_.size() - 1);
}

absl::StatusOr<sluice::internal::raft::SnapshotMetadata>
MemoryStorage::SnapshotMetadata() const {
  return snapshot_.metadata();
}

absl::Status MemoryStorage::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  Index first(entries.front().index());
  size_t skip = 0;
  // Entries already covered by the snapshot are skipped.
  while (skip < entries.size() && Index(entries[skip].index()) <= offset()) {
    ++skip;
  }
  if (skip == entries.size()) return absl::OkStatus();
  first = Index(entries[skip].index());
  if (first > LastIndex() + 1) {
    return absl::InvalidArgumentError(absl::StrCat("append at ", first.value(),
                                                   " leaves a gap after ",
                                                   LastIndex().value()));
  }
  entries_.resize(first - offset());
  entries_.insert(entries_.end(), entries.begin() + skip, entries.end());
  return absl::OkStatus();
}

absl::Status MemoryStorage::ApplySnapshot(const Snapshot& snapshot) {
  if (snapshot.metadata().index() < snapshot_.metadata().index()) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot at ", snapshot.metadata().index(),
                     " is older than ", snapshot_.metadata().index()));
  }
  snapshot_ = snapshot;
  conf_state_ = snapshot.metadata().conf_state();
  entries_.assign(1, Entry());
  entries_[0].set_index(snapshot.metadata().index());
  entries_[0].set_term(snapshot.metadata().term());
  return absl::OkStatus();
}

absl::Status MemoryStorage::CreateSnapshot(Index index, const ConfState& cs,
                                           std::string data) {
  if (index <= Index(snapshot_.metadata().index())) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot at ", index.value(), " is not newer than ",
                     snapshot_.metadata().index()));
  }
  if (index > LastIndex()) return UnavailableError(index);
  snapshot_.mutable_metadata()->set_index(index.value());
  snapshot_.mutable_metadata()->set_term(entries_[index - offset()].term());
  *snapshot_.mutable_metadata()->mutable_conf_state() = cs;
  snapshot_.set_data(std::move(data));
  return absl::OkStatus();
}

absl::Status MemoryStorage::Compact(Index index) {
  if (index <= offset()) return CompactedError(index);
  if (index > LastIndex()) return UnavailableError(index);
  std::vector<Entry> rest(entries_.begin() + (index - offset()),
                          entries_.end());
  rest.front().clear_data();
  rest.front().set_type(sluice::internal::raft::ENTRY_TYPE_NORMAL);
  entries_ = std::move(rest);
  return absl::OkStatus();
}

}  // namespace sluice::raft
