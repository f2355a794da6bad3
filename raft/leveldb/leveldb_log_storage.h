// LevelDbLogStorage: one group's durable log in the node's LevelDB, seen
// through the LogStorage interface the Raft core reads. It reflects only
// durable writes: a write becomes visible when the storage writer has synced
// it, just before the request's callback runs. TermAt, FirstIndex, LastIndex,
// the hard state and the snapshot metadata come from memory; Entries reads
// LevelDB (through the read snapshot that matches the durable state) and
// verifies each record's checksum and term.
//
// Owned by RaftDb, which hands out one per group. Thread-safe; normally
// called from the thread that owns the group's Raft core.
#ifndef SLUICE_RAFT_LEVELDB_LEVELDB_LOG_STORAGE_H_
#define SLUICE_RAFT_LEVELDB_LEVELDB_LOG_STORAGE_H_

#include <cstdint>
#include <vector>

#include "leveldb/db.h"
#include "raft/leveldb/durable_logs.h"
#include "raft/storage/log_storage.h"
#include "raft/types.h"

namespace sluice::raft {

class LevelDbLogStorage final : public LogStorage {
 public:
  // `db` and `durable` must outlive this object.
  LevelDbLogStorage(GroupId group, leveldb::DB* db,
                    const ldb::DurableLogs* durable)
      : group_(group), db_(db), durable_(durable) {}

  GroupId group() const { return group_; }

  // DataLossError if the group's stored records are damaged.
  absl::StatusOr<InitialState> GetInitialState() const override;
  absl::StatusOr<std::vector<sluice::internal::raft::Entry>> Entries(
      Index lo, Index hi, uint64_t max_bytes) const override;
  absl::StatusOr<Term> TermAt(Index index) const override;
  Index FirstIndex() const override;
  Index LastIndex() const override;
  absl::StatusOr<sluice::internal::raft::SnapshotMetadata> SnapshotMetadata()
      const override;

 private:
  const GroupId group_;
  leveldb::DB* const db_;
  const ldb::DurableLogs* const durable_;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_LEVELDB_LEVELDB_LOG_STORAGE_H_
