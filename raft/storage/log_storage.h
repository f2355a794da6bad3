// LogStorage: the read-only view of one group's durable log that the Raft core
// consults (entries it no longer holds in memory, terms for consistency
// checks, the initial state at start). The host, not the core, writes to
// storage when it processes a Ready (see raft/README.md for the rules).
//
// Implementations: MemoryStorage (tests, simulation) and the LevelDB-backed
// storage (raft/leveldb/). Called only from the thread that owns the core.
#ifndef SLUICE_RAFT_STORAGE_LOG_STORAGE_H_
#define SLUICE_RAFT_STORAGE_LOG_STORAGE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft {

struct InitialState {
  sluice::internal::raft::HardState hard_state;
  sluice::internal::raft::ConfState conf_state;
};

// Error for an index at or before the compacted prefix (the entry is gone and
// only a snapshot can help): absl::StatusCode::kOutOfRange.
absl::Status CompactedError(Index index);
bool IsCompacted(const absl::Status& status);
// Error for an index past the last durable entry: absl::StatusCode::kNotFound.
absl::Status UnavailableError(Index index);
bool IsLogUnavailable(const absl::Status& status);

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  virtual absl::StatusOr<InitialState> GetInitialState() const = 0;

  // Entries in [lo, hi). Returns at least one entry when lo < hi, and stops
  // before the total of entry sizes (ByteSizeLong of each) exceeds max_bytes.
  // CompactedError if lo <= the snapshot index; UnavailableError if
  // hi > LastIndex() + 1. Any other error (I/O, checksum) names group and
  // index.
  virtual absl::StatusOr<std::vector<sluice::internal::raft::Entry>> Entries(
      Index lo, Index hi, uint64_t max_bytes) const = 0;

  // Term of the entry at `index`. Valid for index in
  // [FirstIndex() - 1, LastIndex()]: FirstIndex() - 1 is the snapshot's index,
  // whose term is remembered. CompactedError below, UnavailableError above.
  virtual absl::StatusOr<Term> TermAt(Index index) const = 0;

  // Index of the first entry still held (snapshot index + 1).
  virtual Index FirstIndex() const = 0;
  // Index of the last entry (the snapshot index when the log is empty).
  virtual Index LastIndex() const = 0;

  // Metadata of the most recent snapshot (index 0 if none). The snapshot's
  // data is the state machine's business and is streamed separately.
  virtual absl::StatusOr<sluice::internal::raft::SnapshotMetadata>
  SnapshotMetadata() const = 0;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_STORAGE_LOG_STORAGE_H_
