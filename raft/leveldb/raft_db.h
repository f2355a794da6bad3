// RaftDb: a node's one LevelDB holding the logs, hard states and snapshot
// metadata of all its Raft groups (and, under its own key prefix, the queue
// state machine's data). Open recovers every group's durable state and starts
// the storage writer; Storage(group) hands out the group's LogStorage for its
// Raft core; writer() takes the writes of every group and the state machine
// and commits them together.
//
// Owned by the node (the multi-Raft host). All methods are thread-safe. The
// LogStorage objects and the writer live as long as the RaftDb; destroying it
// finishes the queued writes first.
#ifndef SLUICE_RAFT_LEVELDB_RAFT_DB_H_
#define SLUICE_RAFT_LEVELDB_RAFT_DB_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "leveldb/db.h"
#include "raft/leveldb/durable_logs.h"
#include "raft/leveldb/leveldb_log_storage.h"
#include "raft/leveldb/storage_writer.h"
#include "raft/types.h"

namespace sluice::raft {

class RaftDb {
 public:
  struct Options {
    bool create_if_missing = true;
    // LevelDB memtable size: larger means fewer, larger level-0 files under
    // a steady stream of appends.
    size_t write_buffer_size = 32 << 20;
    // Snappy block compression (LevelDB's default); off by default here.
    bool compress = false;
    StorageWriter::Options writer;
  };

  static absl::StatusOr<std::unique_ptr<RaftDb>> Open(const std::string& path,
                                                      Options options);
  ~RaftDb();
  RaftDb(const RaftDb&) = delete;
  RaftDb& operator=(const RaftDb&) = delete;

  // Groups that have anything stored (found at open or written since), in
  // increasing order.
  std::vector<GroupId> Groups() const;
  // The group's durable log; an empty one for a group never written.
  LevelDbLogStorage& Storage(GroupId group);
  StorageWriter& writer() { return *writer_; }

  // For the queue state machine's reads. Write only through writer().
  leveldb::DB* db() { return db_.get(); }
  // A read snapshot of everything durable (across all groups).
  ldb::ReadSnapshot DurableSnapshot() const { return durable_->Snapshot(); }

 private:
  RaftDb(std::unique_ptr<leveldb::DB> db, std::vector<ldb::GroupLog> recovered,
         Options options);

  // Declared in destruction order's reverse: the writer stops first, and the
  // DB closes after every snapshot of it is released.
  std::unique_ptr<leveldb::DB> db_;
  std::unique_ptr<ldb::DurableLogs> durable_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<GroupId, std::unique_ptr<LevelDbLogStorage>> storages_
      ABSL_GUARDED_BY(mu_);
  std::unique_ptr<StorageWriter> writer_;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_LEVELDB_RAFT_DB_H_
