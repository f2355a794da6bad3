#include "broker/queue/snapshot.h"

#include "absl/strings/str_cat.h"
#include "base/crc32c.h"
#include "broker/queue/keys.h"
#include "sluice/internal/commands.pb.h"
#include "sluice/internal/queue_state.pb.h"

namespace sluice::broker {
namespace {

constexpr char kMagic[2] = {'S', 0x01};

void AppendVarint32(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool ReadVarint32(std::string_view* in, uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28 && !in->empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool ReadField(std::string_view* in, std::string_view* field) {
  uint32_t len;
  if (!ReadVarint32(in, &len) || in->size() < len) return false;
  *field = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

leveldb::Slice ToSlice(std::string_view s) {
  return leveldb::Slice(s.data(), s.size());
}

}  // namespace

SnapshotReader::SnapshotReader(leveldb::DB* db, std::string prefix)
    : db_(db), prefix_(std::move(prefix)), snapshot_(db->GetSnapshot()) {
  leveldb::ReadOptions options;
  options.snapshot = snapshot_;
  options.fill_cache = false;
  std::string value;
  std::string counters_key = prefix_;
  counters_key.push_back(static_cast<char>(RecordKind::kCounters));
  if (db_->Get(options, counters_key, &value).ok()) {
    internal::StoredCounters counters;
    if (counters.ParseFromString(value)) {
      applied_index_ = counters.last_applied_index();
    }
  }
  it_.reset(db_->NewIterator(options));
  it_->Seek(prefix_);
}

SnapshotReader::~SnapshotReader() {
  it_.reset();
  db_->ReleaseSnapshot(snapshot_);
}

absl::StatusOr<std::optional<std::string>> SnapshotReader::NextChunk(
    size_t max_bytes) {
  if (done_) return std::nullopt;
  std::string chunk(kMagic, sizeof(kMagic));
  bool any = false;
  while (it_->Valid() && it_->key().starts_with(prefix_) &&
         (!any || chunk.size() < max_bytes)) {
    const leveldb::Slice key = it_->key();
    const leveldb::Slice value = it_->value();
    AppendVarint32(&chunk, static_cast<uint32_t>(key.size() - prefix_.size()));
    chunk.append(key.data() + prefix_.size(), key.size() - prefix_.size());
    AppendVarint32(&chunk, static_cast<uint32_t>(value.size()));
    chunk.append(value.data(), value.size());
    any = true;
    it_->Next();
  }
  if (!it_->status().ok()) {
    return absl::InternalError(
        absl::StrCat("snapshot read: ", it_->status().ToString()));
  }
  if (!any) {
    done_ = true;
    return std::nullopt;
  }
  const uint32_t crc = crc32c::Value(chunk);
  for (int shift = 24; shift >= 0; shift -= 8) {
    chunk.push_back(static_cast<char>((crc >> shift) & 0xff));
  }
  return chunk;
}

absl::Status RestoreCheck::Add(std::string_view suffix,
                               std::string_view value) {
  if (suffix.empty()) return absl::OkStatus();  // Open reads no such record
  auto bad = [&](const char* what) {
    return absl::DataLossError(absl::StrCat(
        "snapshot record '", std::string(1, suffix[0]), "': ", what));
  };
  auto parses = [&](google::protobuf::MessageLite&& message) {
    return message.ParseFromArray(value.data(), static_cast<int>(value.size()));
  };
  const auto kind = static_cast<RecordKind>(suffix[0]);
  switch (kind) {
    case RecordKind::kConfig:
    case RecordKind::kCounters:
    case RecordKind::kRedrive:
      // Open reads these under exactly the one-letter key.
      if (suffix.size() != 1) return absl::OkStatus();
      if (kind == RecordKind::kConfig && !parses(internal::QueueAttributes())) {
        return bad("unreadable queue attributes");
      }
      if (kind == RecordKind::kCounters &&
          !parses(internal::StoredCounters())) {
        return bad("unreadable counters");
      }
      if (kind == RecordKind::kRedrive && !parses(internal::StoredRedrive())) {
        return bad("unreadable redrive task");
      }
      return absl::OkStatus();
    case RecordKind::kProducer:
      if (!parses(internal::StoredProducer())) return bad("unreadable");
      return absl::OkStatus();
    case RecordKind::kDedup:
      if (!parses(internal::StoredDedup())) return bad("unreadable");
      return absl::OkStatus();
    case RecordKind::kBody:
    case RecordKind::kFirstReceive:
    case RecordKind::kMeta:
    case RecordKind::kState:
      break;
    default:
      return absl::OkStatus();  // Open reads no such record
  }
  if (suffix.size() != 9) return bad("malformed message key");
  const uint64_t seq = ReadBigEndian64(suffix.data() + 1);
  if (kind == RecordKind::kBody) {
    if (!parses(internal::StoredBody())) return bad("unreadable");
    body_.insert(seq);
  } else if (kind == RecordKind::kFirstReceive) {
    if (!parses(internal::StoredFirstReceive())) return bad("unreadable");
  } else if (kind == RecordKind::kMeta) {
    if (!parses(internal::StoredMessageMeta())) return bad("unreadable");
    meta_.insert(seq);
  } else if (kind == RecordKind::kState) {
    internal::StoredMessageState state;
    if (!state.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
        !internal::StoredState_IsValid(state.state())) {
      return bad("unreadable");
    }
    state_.insert(seq);
  }
  return absl::OkStatus();
}

absl::Status RestoreCheck::Finish() const {
  if (meta_ != state_ || meta_ != body_) {
    return absl::DataLossError(
        "snapshot: body, meta and state records of the messages disagree");
  }
  return absl::OkStatus();
}

namespace {

// Calls `record` with each record of a chunk whose header and checksum hold.
template <typename Fn>
absl::Status ForEachRecord(std::string_view chunk, Fn record) {
  if (chunk.size() < sizeof(kMagic) + 4 || chunk[0] != kMagic[0] ||
      chunk[1] != kMagic[1]) {
    return absl::DataLossError("snapshot chunk: bad header");
  }
  const size_t body_size = chunk.size() - 4;
  uint32_t stored = 0;
  for (size_t i = body_size; i < chunk.size(); ++i) {
    stored = (stored << 8) | static_cast<uint8_t>(chunk[i]);
  }
  if (crc32c::Value(chunk.substr(0, body_size)) != stored) {
    return absl::DataLossError("snapshot chunk: checksum mismatch");
  }
  std::string_view in =
      chunk.substr(sizeof(kMagic), body_size - sizeof(kMagic));
  while (!in.empty()) {
    std::string_view suffix, value;
    if (!ReadField(&in, &suffix) || !ReadField(&in, &value)) {
      return absl::DataLossError("snapshot chunk: truncated record");
    }
    if (absl::Status s = record(suffix, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RestoreChunk(std::string_view chunk, std::string_view prefix,
                          StateWriteBatch& batch, RestoreCheck* check) {
  std::string key(prefix);
  return ForEachRecord(
      chunk,
      [&](std::string_view suffix, std::string_view value) -> absl::Status {
        if (check != nullptr) {
          if (absl::Status s = check->Add(suffix, value); !s.ok()) return s;
        }
        key.resize(prefix.size());
        key.append(suffix);
        batch.Put(key, value);
        return absl::OkStatus();
      });
}

absl::Status CheckChunk(std::string_view chunk, RestoreCheck& check) {
  return ForEachRecord(chunk,
                       [&](std::string_view suffix, std::string_view value) {
                         return check.Add(suffix, value);
                       });
}

absl::StatusOr<bool> ClearPartitionFrom(leveldb::DB* db,
                                        std::string_view prefix,
                                        size_t max_records, std::string& cursor,
                                        StateWriteBatch& batch) {
  std::unique_ptr<leveldb::Iterator> it(
      db->NewIterator(leveldb::ReadOptions()));
  it->Seek(ToSlice(cursor.empty() ? prefix : std::string_view(cursor)));
  if (!cursor.empty() && it->Valid() && it->key() == ToSlice(cursor)) {
    it->Next();
  }
  size_t deleted = 0;
  for (; it->Valid() && it->key().starts_with(ToSlice(prefix)); it->Next()) {
    if (deleted == max_records) return false;
    cursor.assign(it->key().data(), it->key().size());
    batch.Delete(cursor);
    ++deleted;
  }
  if (!it->status().ok()) {
    return absl::InternalError(
        absl::StrCat("clear partition: ", it->status().ToString()));
  }
  return true;
}

absl::Status ClearPartition(leveldb::DB* db, std::string_view prefix,
                            StateWriteBatch& batch) {
  std::unique_ptr<leveldb::Iterator> it(
      db->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(ToSlice(prefix));
       it->Valid() && it->key().starts_with(ToSlice(prefix)); it->Next()) {
    batch.Delete(std::string_view(it->key().data(), it->key().size()));
  }
  if (!it->status().ok()) {
    return absl::InternalError(
        absl::StrCat("clear partition: ", it->status().ToString()));
  }
  return absl::OkStatus();
}

}  // namespace sluice::broker
