// Recovery: rebuilds every group's GroupLog from the node's LevelDB at open
// (start and last index, term runs, hard state, snapshot metadata), reading
// the Raft key space once in order. Every record's checksum is verified; a
// damaged record (corrupt, torn, out of place, or a gap in the log) marks only
// its group as damaged, with an absl::DataLossError naming group and index,
// so the other groups of the node keep working.
//
// Called once by RaftDb::Open, before the writer starts.
#ifndef SLUICE_RAFT_LEVELDB_RECOVERY_H_
#define SLUICE_RAFT_LEVELDB_RECOVERY_H_

#include <vector>

#include "absl/status/statusor.h"
#include "leveldb/db.h"
#include "raft/leveldb/group_log.h"

namespace sluice::raft::ldb {

// The logs of all groups present, in group order. An error only when LevelDB
// itself cannot be read.
absl::StatusOr<std::vector<GroupLog>> RecoverGroupLogs(leveldb::DB* db);

}  // namespace sluice::raft::ldb

#endif  // SLUICE_RAFT_LEVELDB_RECOVERY_H_
