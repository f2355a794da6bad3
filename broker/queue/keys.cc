#include "broker/queue/keys.h"

namespace sluice::broker {

void AppendBigEndian64(std::string* out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

uint64_t ReadBigEndian64(const char* p) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<uint8_t>(p[i]);
  }
  return value;
}

std::string QueueKeyPrefix(uint64_t group) {
  std::string prefix(1, kQueueStateKeyType);
  AppendBigEndian64(&prefix, group);
  return prefix;
}

std::string QueueKeys::Kind(RecordKind kind) const {
  std::string key = prefix_;
  key.push_back(static_cast<char>(kind));
  return key;
}

std::string QueueKeys::Message(RecordKind kind, uint64_t seq) const {
  std::string key = Kind(kind);
  AppendBigEndian64(&key, seq);
  return key;
}

std::string QueueKeys::Producer(std::string_view producer_id) const {
  std::string key = Kind(RecordKind::kProducer);
  key.append(producer_id);
  return key;
}

std::string QueueKeys::Dedup(std::string_view group,
                             std::string_view dedup_id) const {
  std::string key = Kind(RecordKind::kDedup);
  // Group ids are at most 128 bytes, so one length byte separates them.
  key.push_back(static_cast<char>(group.size()));
  key.append(group);
  key.append(dedup_id);
  return key;
}

std::optional<uint64_t> QueueKeys::ParseMessage(RecordKind kind,
                                                std::string_view key) const {
  if (key.size() != prefix_.size() + 9 || !key.starts_with(prefix_) ||
      key[prefix_.size()] != static_cast<char>(kind)) {
    return std::nullopt;
  }
  return ReadBigEndian64(key.data() + prefix_.size() + 1);
}

}  // namespace sluice::broker
