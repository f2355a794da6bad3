#include "raft/leveldb/leveldb_log_storage.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "raft/leveldb/keys.h"
#include "raft/leveldb/records.h"

namespace sluice::raft {

using sluice::internal::raft::Entry;

absl::StatusOr<InitialState> LevelDbLogStorage::GetInitialState() const {
  absl::StatusOr<InitialState> result;
  durable_->Read(group_, [&](const ldb::GroupLog& log) {
    if (!log.damage().ok()) {
      result = log.damage();
      return;
    }
    InitialState state;
    state.hard_state = log.hard_state();
    state.conf_state = log.snapshot().conf_state();
    result = std::move(state);
  });
  return result;
}

absl::StatusOr<std::vector<Entry>> LevelDbLogStorage::Entries(
    Index lo, Index hi, uint64_t max_bytes) const {
  auto [log, snapshot] = durable_->Get(group_);
  if (!log.damage().ok()) return log.damage();
  if (lo <= log.start_index()) return CompactedError(lo);
  if (hi > log.last_index() + 1) return UnavailableError(hi - 1);
  std::vector<Entry> entries;
  if (lo >= hi) return entries;

  leveldb::ReadOptions options;
  options.snapshot = snapshot.get();
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(options));
  uint64_t total = 0;
  it->Seek(ldb::EntryKey(group_, lo));
  for (Index index = lo; index < hi; ++index, it->Next()) {
    const std::string key = ldb::EntryKey(group_, index);
    if (!it->Valid() ||
        absl::string_view(it->key().data(), it->key().size()) != key) {
      if (!it->status().ok()) {
        return absl::DataLossError(
            absl::StrCat("reading group ", group_.value(), " index ",
                         index.value(), ": ", it->status().ToString()));
      }
      return absl::DataLossError(absl::StrCat(
          "raft log of group ", group_.value(), " has no entry at index ",
          index.value(), " (log holds up to ", log.last_index().value(), ")"));
    }
    absl::StatusOr<Entry> entry = ldb::DecodeEntry(
        group_, index,
        absl::string_view(it->value().data(), it->value().size()));
    if (!entry.ok()) return entry.status();
    const Term expected = *log.TermAt(index);
    if (Term(entry->term()) != expected) {
      return absl::DataLossError(absl::StrCat(
          "raft record of group ", group_.value(), " index ", index.value(),
          " has term ", entry->term(), ", expected ", expected.value()));
    }
    const uint64_t size = entry->ByteSizeLong();
    if (!entries.empty() && total + size > max_bytes) break;
    total += size;
    entries.push_back(*std::move(entry));
  }
  return entries;
}

absl::StatusOr<Term> LevelDbLogStorage::TermAt(Index index) const {
  absl::StatusOr<Term> term;
  durable_->Read(group_, [&](const ldb::GroupLog& log) {
    term = log.damage().ok() ? log.TermAt(index) : log.damage();
  });
  return term;
}

Index LevelDbLogStorage::FirstIndex() const {
  Index first;
  durable_->Read(
      group_, [&](const ldb::GroupLog& log) { first = log.start_index() + 1; });
  return first;
}

Index LevelDbLogStorage::LastIndex() const {
  Index last;
  durable_->Read(group_,
                 [&](const ldb::GroupLog& log) { last = log.last_index(); });
  return last;
}

absl::StatusOr<sluice::internal::raft::SnapshotMetadata>
LevelDbLogStorage::SnapshotMetadata() const {
  absl::StatusOr<sluice::internal::raft::SnapshotMetadata> meta;
  durable_->Read(group_, [&](const ldb::GroupLog& log) {
    if (log.damage().ok()) {
      meta = log.snapshot();
    } else {
      meta = log.damage();
    }
  });
  return meta;
}

}  // namespace sluice::raft
