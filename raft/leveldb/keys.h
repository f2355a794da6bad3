// The key space of a node's LevelDB, shared by every Raft group on the node
// and by the queue state machine. Layout (see raft/leveldb/README.md):
//
//   [space:1] [group:8 BE] [kind:1] [index:8 BE]   (index only for entries)
//
// Integers are fixed-width big-endian, so LevelDB's bytewise order is group
// order, then kind, then log order. Pure functions; any thread.
#ifndef SLUICE_RAFT_LEVELDB_KEYS_H_
#define SLUICE_RAFT_LEVELDB_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "raft/types.h"

namespace sluice::raft::ldb {

// First byte of every key: which component owns it.
enum class KeySpace : uint8_t {
  kNode = 0x00,          // node-wide records (format version)
  kRaft = 0x01,          // Raft logs, hard states, snapshot metadata
  kStateMachine = 0x02,  // the queue state machine's data, per group
};

// Second-level tag of a Raft key, after the group id.
enum class RaftKind : uint8_t {
  kHardState = 0x01,
  kSnapshotMeta = 0x02,
  kLogStart = 0x03,  // (index, term) of the last compacted entry
  kEntry = 0x04,
};

// The node-wide format version record.
std::string FormatVersionKey();

std::string HardStateKey(GroupId group);
std::string SnapshotMetaKey(GroupId group);
std::string LogStartKey(GroupId group);
std::string EntryKey(GroupId group, Index index);

// The same entry key, built on the stack: for the hot paths (no allocation).
class EntryKeyBuffer {
 public:
  static constexpr size_t kSize = 1 + 8 + 1 + 8;
  EntryKeyBuffer(GroupId group, Index index);
  absl::string_view view() const { return absl::string_view(bytes_, kSize); }

 private:
  char bytes_[kSize];
};
// All keys of `group` in the Raft space lie in [RaftGroupBegin, RaftGroupEnd).
std::string RaftGroupBegin(GroupId group);
std::string RaftGroupEnd(GroupId group);
// The whole Raft space is [RaftSpaceBegin, RaftSpaceEnd).
std::string RaftSpaceBegin();
std::string RaftSpaceEnd();

// Prefix under which the queue state machine keeps the data of `group`; it
// appends its own suffixes.
std::string StateMachinePrefix(GroupId group);

// A key of the Raft space taken apart. `index` is set only for entries.
struct RaftKey {
  GroupId group;
  RaftKind kind;
  Index index;
};
// nullopt when `key` is not a well-formed Raft key.
std::optional<RaftKey> ParseRaftKey(absl::string_view key);

// Fixed-width big-endian integers.
void StoreBigEndian64(char* out, uint64_t value);
void PutBigEndian64(std::string* out, uint64_t value);
uint64_t GetBigEndian64(const char* p);
void PutBigEndian32(std::string* out, uint32_t value);
uint32_t GetBigEndian32(const char* p);

}  // namespace sluice::raft::ldb

#endif  // SLUICE_RAFT_LEVELDB_KEYS_H_
