#include "raft/leveldb/keys.h"

namespace sluice::raft::ldb {
namespace {

constexpr size_t kGroupKeySize = 1 + 8 + 1;
constexpr size_t kEntryKeySize = kGroupKeySize + 8;

std::string GroupPrefix(KeySpace space, GroupId group) {
  std::string key;
  key.reserve(kEntryKeySize);
  key.push_back(static_cast<char>(space));
  PutBigEndian64(&key, group.value());
  return key;
}

std::string RaftKeyOf(GroupId group, RaftKind kind) {
  std::string key = GroupPrefix(KeySpace::kRaft, group);
  key.push_back(static_cast<char>(kind));
  return key;
}

}  // namespace

void StoreBigEndian64(char* out, uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

void PutBigEndian64(std::string* out, uint64_t value) {
  char bytes[8];
  StoreBigEndian64(bytes, value);
  out->append(bytes, 8);
}

uint64_t GetBigEndian64(const char* p) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<uint8_t>(p[i]);
  }
  return value;
}

void PutBigEndian32(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

uint32_t GetBigEndian32(const char* p) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value = (value << 8) | static_cast<uint8_t>(p[i]);
  }
  return value;
}

std::string FormatVersionKey() {
  std::string key(1, static_cast<char>(KeySpace::kNode));
  key.append("format");
  return key;
}

std::string HardStateKey(GroupId group) {
  return RaftKeyOf(group, RaftKind::kHardState);
}

std::string SnapshotMetaKey(GroupId group) {
  return RaftKeyOf(group, RaftKind::kSnapshotMeta);
}

std::string LogStartKey(GroupId group) {
  return RaftKeyOf(group, RaftKind::kLogStart);
}

EntryKeyBuffer::EntryKeyBuffer(GroupId group, Index index) {
  bytes_[0] = static_cast<char>(KeySpace::kRaft);
  StoreBigEndian64(bytes_ + 1, group.value());
  bytes_[9] = static_cast<char>(RaftKind::kEntry);
  StoreBigEndian64(bytes_ + 10, index.value());
}

std::string EntryKey(GroupId group, Index index) {
  return std::string(EntryKeyBuffer(group, index).view());
}

std::string RaftGroupBegin(GroupId group) {
  return GroupPrefix(KeySpace::kRaft, group);
}

std::string RaftGroupEnd(GroupId group) {
  // The group prefix followed by 0xff sorts after every kind of the group.
  std::string key = GroupPrefix(KeySpace::kRaft, group);
  key.push_back(static_cast<char>(0xff));
  return key;
}

std::string RaftSpaceBegin() {
  return std::string(1, static_cast<char>(KeySpace::kRaft));
}

std::string RaftSpaceEnd() {
  return std::string(1, static_cast<char>(KeySpace::kStateMachine));
}

std::string StateMachinePrefix(GroupId group) {
  return GroupPrefix(KeySpace::kStateMachine, group);
}

std::optional<RaftKey> ParseRaftKey(absl::string_view key) {
  if (key.size() < kGroupKeySize ||
      static_cast<uint8_t>(key[0]) != static_cast<uint8_t>(KeySpace::kRaft)) {
    return std::nullopt;
  }
  RaftKey parsed;
  parsed.group = GroupId(GetBigEndian64(key.data() + 1));
  const uint8_t kind = static_cast<uint8_t>(key[9]);
  switch (kind) {
    case static_cast<uint8_t>(RaftKind::kHardState):
    case static_cast<uint8_t>(RaftKind::kSnapshotMeta):
    case static_cast<uint8_t>(RaftKind::kLogStart):
      if (key.size() != kGroupKeySize) return std::nullopt;
      parsed.kind = static_cast<RaftKind>(kind);
      return parsed;
    case static_cast<uint8_t>(RaftKind::kEntry):
      if (key.size() != kEntryKeySize) return std::nullopt;
      parsed.kind = RaftKind::kEntry;
      parsed.index = Index(GetBigEndian64(key.data() + kGroupKeySize));
      return parsed;
    default:
      return std::nullopt;
  }
}

}  // namespace sluice::raft::ldb
