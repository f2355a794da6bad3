// Snapshots of one partition's queue state: every record under its key
// prefix, read through one consistent leveldb::Snapshot and streamed in
// chunks; restore writes the chunks back on an empty replica, which then
// opens a QueueStateMachine (the index is rebuilt from the records).
//
// Chunk format (version 1):
//   'S' 0x01 | records... | CRC-32C of all previous bytes (4 bytes BE)
//   record = varint32 key length | key without the prefix |
//            varint32 value length | value
// Keys travel without the partition's prefix, so a chunk can be restored
// under another prefix.
//
// SnapshotReader is owned by whoever streams the snapshot (the host's
// snapshot sender); one thread at a time. It pins LevelDB files until
// destroyed.
#ifndef SLUICE_BROKER_QUEUE_SNAPSHOT_H_
#define SLUICE_BROKER_QUEUE_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/queue/state_write_batch.h"
#include "leveldb/db.h"

namespace sluice::broker {

class SnapshotReader {
 public:
  // Takes the LevelDB snapshot now: the host creates the reader right after
  // it has written the batch of the last applied entry.
  SnapshotReader(leveldb::DB* db, std::string prefix);
  ~SnapshotReader();
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  // The log index the snapshot covers (0 for an empty partition).
  uint64_t applied_index() const { return applied_index_; }

  // The next chunk, holding at least one record and stopping once it passes
  // max_bytes; nullopt after the last.
  absl::StatusOr<std::optional<std::string>> NextChunk(size_t max_bytes);

 private:
  leveldb::DB* db_;
  std::string prefix_;
  const leveldb::Snapshot* snapshot_;
  std::unique_ptr<leveldb::Iterator> it_;
  uint64_t applied_index_ = 0;
  bool done_ = false;
};

// Checks that the records of a snapshot are what QueueStateMachine::Open
// can load and read: every record it reads parses, message keys are well
// formed, and every message has its body, meta and state records (Open's
// and ReadMessage's rules, a little stricter: a real snapshot never breaks
// them). A snapshot comes from
// a peer, and once a restore's batch is written it cannot be undone, so a
// follower checks the whole snapshot first. Feed it every record, then
// Finish. One thread.
class RestoreCheck {
 public:
  // `suffix`: the record's key without the partition prefix.
  absl::Status Add(std::string_view suffix, std::string_view value);
  absl::Status Finish() const;

 private:
  absl::btree_set<uint64_t> body_;   // sequences with a 'b' record
  absl::btree_set<uint64_t> meta_;   // ... with an 'm' record
  absl::btree_set<uint64_t> state_;  // ... with an 's' record
};

// Checks one chunk and writes its records under `prefix` into `batch`. With
// `check`, also feeds every record to it and fails (part written) on the
// first record it refuses.
absl::Status RestoreChunk(std::string_view chunk, std::string_view prefix,
                          StateWriteBatch& batch,
                          RestoreCheck* check = nullptr);

// Checks a whole snapshot's chunks (CheckChunk each, then Finish) without
// writing anything.
absl::Status CheckChunk(std::string_view chunk, RestoreCheck& check);

// Deletes every record under `prefix` (before restoring over old state).
absl::Status ClearPartition(leveldb::DB* db, std::string_view prefix,
                            StateWriteBatch& batch);

// One step of deleting a partition: up to `max_records` records under
// `prefix` after `cursor` (empty: from the start), whose deletions must be
// durable before the next step reads the DB again. Moves `cursor` to the
// last key deleted; true when nothing is left after it. Resuming after the
// cursor, not from the start, keeps the steps from scanning the tombstones
// of the earlier ones.
absl::StatusOr<bool> ClearPartitionFrom(leveldb::DB* db,
                                        std::string_view prefix,
                                        size_t max_records, std::string& cursor,
                                        StateWriteBatch& batch);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_QUEUE_SNAPSHOT_H_
