// Keys of the queue state machine's records in the node's LevelDB. Every key
// starts with the partition's prefix (QueueKeyPrefix: a type byte and the
// group id in fixed-width big-endian, as raft/ lays out its own keys), then
// one letter naming the record kind, then the record's id. Sequences are
// fixed-width big-endian so that iteration order is send order. The layout
// is drawn in README.md.
#ifndef SLUICE_BROKER_QUEUE_KEYS_H_
#define SLUICE_BROKER_QUEUE_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::broker {

// The type byte of queue-state keys in the node's shared LevelDB.
inline constexpr char kQueueStateKeyType = 'Q';

// kQueueStateKeyType followed by `group` in 8 bytes big-endian.
std::string QueueKeyPrefix(uint64_t group);

// One letter per record kind, after the prefix.
enum class RecordKind : char {
  kBody = 'b',          // 'b' seq -> StoredBody
  kConfig = 'c',        // 'c' -> QueueAttributes
  kDedup = 'd',         // 'd' len(group) group dedup_id -> StoredDedup
  kFirstReceive = 'f',  // 'f' seq -> StoredFirstReceive
  kCounters = 'k',      // 'k' -> StoredCounters
  kMeta = 'm',          // 'm' seq -> StoredMessageMeta
  kProducer = 'p',      // 'p' producer id -> StoredProducer
  kRedrive = 'r',       // 'r' -> StoredRedrive
  kState = 's',         // 's' seq -> StoredMessageState
};

// Builds the keys of one partition.
class QueueKeys {
 public:
  explicit QueueKeys(std::string prefix) : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  std::string Kind(RecordKind kind) const;  // prefix + letter: a range start
  std::string Message(RecordKind kind, uint64_t seq) const;
  std::string Producer(std::string_view producer_id) const;
  std::string Dedup(std::string_view group, std::string_view dedup_id) const;

  // The sequence in a Message() key of `kind`, or nullopt for another key.
  std::optional<uint64_t> ParseMessage(RecordKind kind,
                                       std::string_view key) const;

 private:
  std::string prefix_;
};

void AppendBigEndian64(std::string* out, uint64_t value);
uint64_t ReadBigEndian64(const char* p);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_QUEUE_KEYS_H_
