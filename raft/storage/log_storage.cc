#include "raft/storage/log_storage.h"

#include "absl/strings/str_cat.h"

namespace sluice::raft {

absl::Status CompactedError(Index index) {
  return absl::OutOfRangeError(
      absl::StrCat("log index ", index.value(), " is compacted"));
}

bool IsCompacted(const absl::Status& status) {
  return status.code() == absl::StatusCode::kOutOfRange;
}

absl::Status UnavailableError(Index index) {
  return absl::NotFoundError(
      absl::StrCat("log index ", index.value(), " is not yet available"));
}

bool IsLogUnavailable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kNotFound;
}

}  // namespace sluice::raft
