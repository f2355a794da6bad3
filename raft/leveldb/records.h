// Checksummed values of the Raft key space. Every value is
//
//   [crc32c:4 BE] [payload]
//
// where the CRC-32C covers the key followed by the payload, so a flipped bit,
// a torn (truncated) value or a record copied under the wrong key is caught
// on read. A failed check is absl::DataLossError naming group and index.
// Pure functions; any thread.
#ifndef SLUICE_RAFT_LEVELDB_RECORDS_H_
#define SLUICE_RAFT_LEVELDB_RECORDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft::ldb {

// (index, term) of the last compacted entry: the log holds (index, ...].
struct LogStart {
  Index index;
  Term term;
};

std::string EncodeEntry(GroupId group,
                        const sluice::internal::raft::Entry& entry);
// Verifies the record stored under EntryKey(group, index) and parses it.
absl::StatusOr<sluice::internal::raft::Entry> DecodeEntry(
    GroupId group, Index index, absl::string_view value);

std::string EncodeHardState(GroupId group,
                            const sluice::internal::raft::HardState& state);
absl::StatusOr<sluice::internal::raft::HardState> DecodeHardState(
    GroupId group, absl::string_view value);

std::string EncodeSnapshotMeta(
    GroupId group, const sluice::internal::raft::SnapshotMetadata& meta);
absl::StatusOr<sluice::internal::raft::SnapshotMetadata> DecodeSnapshotMeta(
    GroupId group, absl::string_view value);

std::string EncodeLogStart(GroupId group, LogStart start);

// The stored value for raw `payload` under `key`: its CRC, then the payload.
// For tests and fuzzers that make records of arbitrary bytes.
std::string SealPayload(absl::string_view key, absl::string_view payload);
absl::StatusOr<LogStart> DecodeLogStart(GroupId group, absl::string_view value);

}  // namespace sluice::raft::ldb

#endif  // SLUICE_RAFT_LEVELDB_RECORDS_H_
