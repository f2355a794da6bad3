// DurableLogs: the durable state of every group on the node, as readers may
// see it. The storage writer replaces the logs of the groups a batch touched,
// together with a LevelDB read snapshot taken right after the batch was
// synced, in one step (Publish); readers get a group's log and the snapshot
// that matches it, so they never see a write that is not yet durable, nor
// half of a batch.
//
// Owned by RaftDb. Publish is called by the storage writer thread (and by
// recovery before it starts); all other methods from any thread.
#ifndef SLUICE_RAFT_LEVELDB_DURABLE_LOGS_H_
#define SLUICE_RAFT_LEVELDB_DURABLE_LOGS_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "leveldb/db.h"
#include "raft/leveldb/group_log.h"
#include "raft/types.h"

namespace sluice::raft::ldb {

// A LevelDB snapshot, released when the last holder lets go.
using ReadSnapshot = std::shared_ptr<const leveldb::Snapshot>;

class DurableLogs {
 public:
  // `db` must outlive this object.
  explicit DurableLogs(leveldb::DB* db);
  DurableLogs(const DurableLogs&) = delete;
  DurableLogs& operator=(const DurableLogs&) = delete;

  // Runs `fn` on the durable log of `group` (an empty log if the group has
  // never been written) while holding the lock: keep `fn` short.
  void Read(GroupId group, absl::FunctionRef<void(const GroupLog&)> fn) const;
  // A copy of the group's durable log and the snapshot that matches it.
  std::pair<GroupLog, ReadSnapshot> Get(GroupId group) const;
  // The current read snapshot: every durable write, across all groups.
  ReadSnapshot Snapshot() const;
  // Groups that have anything stored, in increasing order.
  std::vector<GroupId> Groups() const;

  // Replaces the logs of the given groups and takes a new read snapshot.
  // Call only after the LevelDB write that produced them has returned OK.
  void Publish(std::vector<GroupLog> changed);

 private:
  leveldb::DB* const db_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<GroupId, GroupLog> logs_ ABSL_GUARDED_BY(mu_);
  ReadSnapshot snapshot_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::raft::ldb

#endif  // SLUICE_RAFT_LEVELDB_DURABLE_LOGS_H_
