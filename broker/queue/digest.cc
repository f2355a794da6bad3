// The state digest: SHA-256 over every record of the partition (in key
// order, from one consistent LevelDB snapshot) followed by the replicated
// part of the index (per message: sequence, receive count, logical state,
// group). Deadlines and reservations, which are this replica's own, are left
// out, so replicas that applied the same log agree.
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/sha256.h"
#include "broker/queue/queue_state_machine.h"

namespace sluice::broker {
namespace {

void AddField(Sha256& h, std::string_view bytes) {
  std::string len;
  AppendBigEndian64(&len, bytes.size());
  h.Update(len);
  h.Update(bytes);
}

}  // namespace

absl::StatusOr<std::string> QueueStateMachine::Digest() const {
  Sha256 h;
  leveldb::ReadOptions options;
  const leveldb::Snapshot* snapshot = options_.db->GetSnapshot();
  options.snapshot = snapshot;
  std::unique_ptr<leveldb::Iterator> it(options_.db->NewIterator(options));
  const std::string& prefix = keys_.prefix();
  const leveldb::Slice start(prefix.data(), prefix.size());
  for (it->Seek(start); it->Valid() && it->key().starts_with(start);
       it->Next()) {
    AddField(h, std::string_view(it->key().data(), it->key().size()));
    AddField(h, std::string_view(it->value().data(), it->value().size()));
  }
  const leveldb::Status status = it->status();
  it.reset();
  options_.db->ReleaseSnapshot(snapshot);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("digest: ", status.ToString()));
  }
  std::string index;
  for (const auto& [seq, meta] : index_->messages()) {
    AppendBigEndian64(&index, seq);
    AppendBigEndian64(&index, meta.receive_count);
    index.push_back(static_cast<char>(meta.state));
    if (index_->fifo() && meta.logical() != MsgState::kOutbox) {
      AddField(h, index);
      index.clear();
      AddField(h, index_->GroupName(meta.group));
    }
  }
  AddField(h, index);
  AddField(h, attributes_.SerializeAsString());
  AddField(h, counters_.SerializeAsString());
  const Sha256::Digest digest = h.Finish();
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest.data()), digest.size()));
}

}  // namespace sluice::broker
