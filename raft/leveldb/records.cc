#include "raft/leveldb/records.h"

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/crc32c.h"
#include "raft/leveldb/keys.h"

namespace sluice::raft::ldb {
namespace {

using sluice::internal::raft::Entry;
using sluice::internal::raft::HardState;
using sluice::internal::raft::SnapshotMetadata;

constexpr size_t kCrcSize = 4;

uint32_t RecordCrc(absl::string_view key, absl::string_view payload) {
  return crc32c::Extend(crc32c::Value(key.data(), key.size()), payload.data(),
                        payload.size());
}

// `value` holds kCrcSize placeholder bytes followed by the payload.
void SealRecord(absl::string_view key, std::string* value) {
  const uint32_t crc =
      RecordCrc(key, absl::string_view(*value).substr(kCrcSize));
  for (size_t i = 0; i < kCrcSize; ++i) {
    (*value)[i] = static_cast<char>(crc >> (8 * (kCrcSize - 1 - i)));
  }
}

std::string Seal(absl::string_view key,
                 const google::protobuf::MessageLite& message) {
  // Sized once: entries are the hot path.
  std::string value(kCrcSize + message.ByteSizeLong(), '\0');
  message.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(value.data() + kCrcSize));
  SealRecord(key, &value);
  return value;
}

// Names a record in errors ("group 7 index 12"); called only on failure.
using RecordName = absl::FunctionRef<std::string()>;

// Checks the CRC of `value` stored under `key`; returns the payload.
absl::StatusOr<absl::string_view> Open(absl::string_view key,
                                       absl::string_view value,
                                       RecordName what) {
  if (value.size() < kCrcSize) {
    return absl::DataLossError(absl::StrCat("raft record of ", what(),
                                            " is torn: ", value.size(),
                                            " bytes, shorter than its header"));
  }
  const uint32_t stored = GetBigEndian32(value.data());
  const absl::string_view payload = value.substr(kCrcSize);
  const uint32_t computed = RecordCrc(key, payload);
  if (stored != computed) {
    return absl::DataLossError(absl::StrCat(
        "raft record of ", what(), " is corrupt: checksum ", stored,
        " stored, ", computed, " computed over ", value.size(), " bytes"));
  }
  return payload;
}

template <typename Message>
absl::StatusOr<Message> OpenMessage(absl::string_view key,
                                    absl::string_view value, RecordName what) {
  absl::StatusOr<absl::string_view> payload = Open(key, value, what);
  if (!payload.ok()) return payload.status();
  Message message;
  if (!message.ParseFromArray(payload->data(),
                              static_cast<int>(payload->size()))) {
    return absl::DataLossError(absl::StrCat(
        "raft record of ", what(), " has a valid checksum but does not parse"));
  }
  return message;
}

std::string GroupName(GroupId group) {
  return absl::StrCat("group ", group.value());
}

}  // namespace

std::string EncodeEntry(GroupId group, const Entry& entry) {
  return Seal(EntryKeyBuffer(group, Index(entry.index())).view(), entry);
}

absl::StatusOr<Entry> DecodeEntry(GroupId group, Index index,
                                  absl::string_view value) {
  auto what = [&] {
    return absl::StrCat(GroupName(group), " index ", index.value());
  };
  absl::StatusOr<Entry> entry =
      OpenMessage<Entry>(EntryKeyBuffer(group, index).view(), value, what);
  if (entry.ok() && entry->index() != index.value()) {
    return absl::DataLossError(absl::StrCat("raft record of ", what(),
                                            " holds index ", entry->index()));
  }
  return entry;
}

std::string EncodeHardState(GroupId group, const HardState& state) {
  return Seal(HardStateKey(group), state);
}

absl::StatusOr<HardState> DecodeHardState(GroupId group,
                                          absl::string_view value) {
  return OpenMessage<HardState>(HardStateKey(group), value, [&] {
    return absl::StrCat(GroupName(group), " hard state");
  });
}

std::string EncodeSnapshotMeta(GroupId group, const SnapshotMetadata& meta) {
  return Seal(SnapshotMetaKey(group), meta);
}

absl::StatusOr<SnapshotMetadata> DecodeSnapshotMeta(GroupId group,
                                                    absl::string_view value) {
  return OpenMessage<SnapshotMetadata>(SnapshotMetaKey(group), value, [&] {
    return absl::StrCat(GroupName(group), " snapshot metadata");
  });
}

std::string EncodeLogStart(GroupId group, LogStart start) {
  std::string value(kCrcSize, '\0');
  PutBigEndian64(&value, start.index.value());
  PutBigEndian64(&value, start.term.value());
  SealRecord(LogStartKey(group), &value);
  return value;
}

absl::StatusOr<LogStart> DecodeLogStart(GroupId group,
                                        absl::string_view value) {
  auto what = [&] { return absl::StrCat(GroupName(group), " log start"); };
  absl::StatusOr<absl::string_view> payload =
      Open(LogStartKey(group), value, what);
  if (!payload.ok()) return payload.status();
  if (payload->size() != 16) {
    return absl::DataLossError(absl::StrCat("raft record of ", what(), " has ",
                                            payload->size(),
                                            " payload bytes, expected 16"));
  }
  return LogStart{Index(GetBigEndian64(payload->data())),
                  Term(GetBigEndian64(payload->data() + 8))};
}

std::string SealPayload(absl::string_view key, absl::string_view payload) {
  std::string value(kCrcSize, '\0');
  value.append(payload.data(), payload.size());
  SealRecord(key, &value);
  return value;
}

}  // namespace sluice::raft::ldb
