// WriteRequest: what the host and the queue state machine hand the storage
// writer to make durable together. One request is atomic: all of it reaches
// the disk in one synced LevelDB batch, or none of it does.
#ifndef SLUICE_RAFT_LEVELDB_WRITE_REQUEST_H_
#define SLUICE_RAFT_LEVELDB_WRITE_REQUEST_H_

#include <optional>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "leveldb/write_batch.h"
#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft {

// One group's part of a request, applied in the order of the fields (the
// order in which a Ready must be persisted).
struct GroupWrite {
  GroupId group;
  // 1. A newer snapshot (received, or taken locally). If the log does not
  //    hold the snapshot's (index, term), the log is replaced by it.
  std::optional<sluice::internal::raft::SnapshotMetadata> snapshot;
  // 2. Entries to append, consecutive indices. A stored suffix from the first
  //    index on is replaced (conflicting entries are truncated).
  std::vector<sluice::internal::raft::Entry> entries;
  // 3. Forget entries up to this index (at most the snapshot index).
  std::optional<Index> compact_to;
  // 4. The new hard state.
  std::optional<sluice::internal::raft::HardState> hard_state;
};

struct WriteRequest {
  std::vector<GroupWrite> groups;
  // The queue state machine's own puts and deletes, written in the same batch
  // after the Raft records. Keys must lie outside the Raft and node key spaces
  // (see raft/leveldb/keys.h: StateMachinePrefix).
  leveldb::WriteBatch extra;
  // Called exactly once, on the writer thread: OK when the whole request is
  // durable (synced) and visible through LevelDbLogStorage; otherwise an error
  // and nothing of the request was written. Must not block: post the result
  // to the caller's own thread.
  absl::AnyInvocable<void(absl::Status) &&> done;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_LEVELDB_WRITE_REQUEST_H_
