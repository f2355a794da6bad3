// PreparedRequest: a WriteRequest checked and encoded (entries serialized and
// checksummed into LevelDB puts) on the submitting thread, so that the storage
// writer thread only orders, batches and syncs. Internal to the writer.
#ifndef SLUICE_RAFT_LEVELDB_PREPARED_REQUEST_H_
#define SLUICE_RAFT_LEVELDB_PREPARED_REQUEST_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "leveldb/write_batch.h"
#include "raft/leveldb/write_request.h"
#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft::ldb {

struct PreparedGroupWrite {
  GroupId group;
  std::optional<sluice::internal::raft::SnapshotMetadata> snapshot;
  std::string snapshot_record;
  Index first_index;
  std::vector<Term> terms;  // of entries first_index, first_index+1, ...
  std::vector<std::string> entry_records;  // their encoded records
  std::optional<Index> compact_to;
  std::optional<sluice::internal::raft::HardState> hard_state;
  std::string hard_state_record;
};

struct PreparedRequest {
  // Not OK when the request is malformed; the writer then only reports it.
  absl::Status invalid;
  std::vector<PreparedGroupWrite> groups;
  leveldb::WriteBatch extra;
  absl::AnyInvocable<void(absl::Status) &&> done;
  size_t entries = 0;
  size_t bytes = 0;  // approximate size of everything it will put
};

// Checks the request's shape (consecutive entry indices, extra keys outside
// the Raft space) and encodes its records. Any thread. (Held by pointer:
// leveldb::WriteBatch has no move, only a copy.)
std::unique_ptr<PreparedRequest> Prepare(WriteRequest request);

}  // namespace sluice::raft::ldb

#endif  // SLUICE_RAFT_LEVELDB_PREPARED_REQUEST_H_
