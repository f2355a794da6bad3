// BatchStager: builds one group-commit batch. It applies prepared requests,
// in order, to copies of the groups' logs (starting from the durable ones)
// and appends their LevelDB operations to a single WriteBatch: the records,
// plus deletes for truncated, discarded and compacted entries. A request that
// breaks a rule leaves both the batch and the staged logs as they were.
//
// Used by the storage writer thread only; one stager per batch.
#ifndef SLUICE_RAFT_LEVELDB_BATCH_STAGER_H_
#define SLUICE_RAFT_LEVELDB_BATCH_STAGER_H_

#include <cstddef>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "leveldb/write_batch.h"
#include "raft/leveldb/durable_logs.h"
#include "raft/leveldb/group_log.h"
#include "raft/leveldb/prepared_request.h"

namespace sluice::raft::ldb {

class BatchStager {
 public:
  // Builds into `batch`, which it clears first; the writer hands in the same
  // batch every time, so its buffer is allocated once, not grown per batch.
  BatchStager(const DurableLogs* durable, leveldb::WriteBatch* batch)
      : durable_(durable), batch_(batch) {
    batch_->Clear();
  }

  // Stages `request`; on error nothing of it is staged.
  absl::Status Add(const PreparedRequest& request);

  leveldb::WriteBatch* batch() { return batch_; }
  // True when no staged request wrote anything.
  bool empty() const;
  // The logs of the groups touched, as they are once the batch is durable.
  std::vector<GroupLog> TakeChanged();

 private:
  // What one group write does to the stored records, decided before any of
  // the request is added to the batch.
  struct Plan {
    const PreparedGroupWrite* write = nullptr;
    IndexRange discarded;  // by a snapshot that replaces the log
    IndexRange truncated;  // a conflicting suffix past the new end
    IndexRange dropped;    // by compaction
    bool start_changed = false;
    Index start_index;
    Term start_term;
  };

  // The log of `group` as staged so far (durable if not yet touched).
  const GroupLog& Current(GroupId group);
  // Applies `write` to `log` (a copy) and says what to store.
  static absl::StatusOr<Plan> PlanGroup(const PreparedGroupWrite& write,
                                        GroupLog& log);
  void Emit(const Plan& plan);

  const DurableLogs* const durable_;
  absl::flat_hash_map<GroupId, GroupLog> staged_;
  leveldb::WriteBatch* const batch_;
};

}  // namespace sluice::raft::ldb

#endif  // SLUICE_RAFT_LEVELDB_BATCH_STAGER_H_
