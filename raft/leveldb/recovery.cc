#include "raft/leveldb/recovery.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "raft/leveldb/keys.h"
#include "raft/leveldb/records.h"

namespace sluice::raft::ldb {
namespace {

absl::string_view View(const leveldb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

// Adds one stored record to the log of its group.
void Restore(const RaftKey& key, absl::string_view value, GroupLog& log) {
  const GroupId group = key.group;
  switch (key.kind) {
    case RaftKind::kHardState: {
      auto state = DecodeHardState(group, value);
      if (!state.ok()) return log.MarkDamaged(state.status());
      log.SetHardState(*state);
      return;
    }
    case RaftKind::kSnapshotMeta: {
      auto meta = DecodeSnapshotMeta(group, value);
      if (!meta.ok()) return log.MarkDamaged(meta.status());
      log.RestoreSnapshot(*meta);
      return;
    }
    case RaftKind::kLogStart: {
      auto start = DecodeLogStart(group, value);
      if (!start.ok()) return log.MarkDamaged(start.status());
      log.RestoreStart(start->index, start->term);
      return;
    }
    case RaftKind::kEntry: {
      if (!log.damage().ok()) return;
      auto entry = DecodeEntry(group, key.index, value);
      if (!entry.ok()) return log.MarkDamaged(entry.status());
      if (key.index != log.last_index() + 1) {
        return log.MarkDamaged(absl::DataLossError(
            absl::StrCat("raft log of group ", group.value(),
                         " is broken at index ", (log.last_index() + 1).value(),
                         ": the next stored entry is ", key.index.value(),
                         " (log start ", log.start_index().value(), ")")));
      }
      const Term term(entry->term());
      auto appended = log.Append(key.index, {&term, 1});
      if (!appended.ok()) {
        return log.MarkDamaged(absl::DataLossError(absl::StrCat(
            "raft log of group ", group.value(), " index ", key.index.value(),
            ": ", appended.status().message())));
      }
      return;
    }
  }
}

}  // namespace

absl::StatusOr<std::vector<GroupLog>> RecoverGroupLogs(leveldb::DB* db) {
  std::vector<GroupLog> logs;
  leveldb::ReadOptions options;
  options.verify_checksums = true;
  options.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(options));
  const std::string end = RaftSpaceEnd();
  for (it->Seek(RaftSpaceBegin()); it->Valid() && View(it->key()) < end;
       it->Next()) {
    const absl::string_view key = View(it->key());
    std::optional<RaftKey> parsed = ParseRaftKey(key);
    if (!parsed.has_value()) {
      if (key.size() < 9) {
        return absl::DataLossError(absl::StrCat(
            "malformed key of ", key.size(), " bytes in the Raft key space"));
      }
      const GroupId group(GetBigEndian64(key.data() + 1));
      if (logs.empty() || logs.back().group() != group)
        logs.emplace_back(group);
      logs.back().MarkDamaged(
          absl::DataLossError(absl::StrCat("malformed Raft key of ", key.size(),
                                           " bytes in group ", group.value())));
      continue;
    }
    if (logs.empty() || logs.back().group() != parsed->group) {
      logs.emplace_back(parsed->group);
    }
    Restore(*parsed, View(it->value()), logs.back());
  }
  if (!it->status().ok()) {
    return absl::DataLossError(
        absl::StrCat("reading the Raft logs: ", it->status().ToString()));
  }
  return logs;
}

}  // namespace sluice::raft::ldb
