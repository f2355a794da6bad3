#include "raft/leveldb/prepared_request.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/leveldb/keys.h"
#include "raft/leveldb/records.h"

namespace sluice::raft::ldb {
namespace {

// Rejects extra keys that would land in the node or Raft key spaces.
class ExtraKeyChecker : public leveldb::WriteBatch::Handler {
 public:
  void Put(const leveldb::Slice& key, const leveldb::Slice&) override {
    Check(key);
  }
  void Delete(const leveldb::Slice& key) override { Check(key); }
  const absl::Status& status() const { return status_; }

 private:
  void Check(const leveldb::Slice& key) {
    if (!status_.ok()) return;
    if (key.empty() || static_cast<uint8_t>(key[0]) <
                           static_cast<uint8_t>(KeySpace::kStateMachine)) {
      status_ = absl::InvalidArgumentError(
          "extra write to a key reserved for Raft or the node");
    }
  }
  absl::Status status_;
};

absl::Status PrepareGroup(GroupWrite& write, PreparedGroupWrite& out,
                          size_t& bytes) {
  out.group = write.group;
  if (write.snapshot.has_value()) {
    out.snapshot_record = EncodeSnapshotMeta(write.group, *write.snapshot);
    bytes += out.snapshot_record.size();
    out.snapshot = std::move(write.snapshot);
  }
  if (!write.entries.empty()) {
    out.first_index = Index(write.entries.front().index());
    out.terms.reserve(write.entries.size());
    out.entry_records.reserve(write.entries.size());
    for (size_t i = 0; i < write.entries.size(); ++i) {
      const auto& entry = write.entries[i];
      if (Index(entry.index()) != out.first_index + i) {
        return absl::InvalidArgumentError(absl::StrCat(
            "group ", write.group.value(), ": entry ", entry.index(),
            " follows entry ", (out.first_index + (i - 1)).value()));
      }
      out.terms.push_back(Term(entry.term()));
      out.entry_records.push_back(EncodeEntry(write.group, entry));
      bytes += out.entry_records.back().size();
    }
  }
  out.compact_to = write.compact_to;
  if (write.hard_state.has_value()) {
    out.hard_state_record = EncodeHardState(write.group, *write.hard_state);
    bytes += out.hard_state_record.size();
    out.hard_state = std::move(write.hard_state);
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<PreparedRequest> Prepare(WriteRequest request) {
  auto owned = std::make_unique<PreparedRequest>();
  PreparedRequest& prepared = *owned;
  prepared.done = std::move(request.done);
  ExtraKeyChecker checker;
  leveldb::Status iterated = request.extra.Iterate(&checker);
  if (!iterated.ok()) {
    prepared.invalid = absl::InvalidArgumentError(iterated.ToString());
    return owned;
  }
  if (!checker.status().ok()) {
    prepared.invalid = checker.status();
    return owned;
  }
  prepared.groups.resize(request.groups.size());
  for (size_t i = 0; i < request.groups.size(); ++i) {
    prepared.entries += request.groups[i].entries.size();
    absl::Status status =
        PrepareGroup(request.groups[i], prepared.groups[i], prepared.bytes);
    if (!status.ok()) {
      prepared.invalid = std::move(status);
      prepared.groups.clear();
      return owned;
    }
  }
  prepared.bytes += request.extra.ApproximateSize();
  prepared.extra = request.extra;  // WriteBatch has no move; one copy
  return owned;
}

}  // namespace sluice::raft::ldb
