// Request-wide checks of the public batch calls (Send, Delete,
// ChangeVisibility), queues.proto's shared limits: 1..100 entries, entry ids
// of 1..80 characters [A-Za-z0-9_-], distinct within the request.
#ifndef SLUICE_BROKER_PARTITION_BATCH_CHECKS_H_
#define SLUICE_BROKER_PARTITION_BATCH_CHECKS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace sluice::broker {

inline constexpr int kMaxBatchEntries = 100;
inline constexpr size_t kMaxEntryIdLength = 80;

// The request index of the i-th entry of a partition's part: `indexes[i]`,
// or i itself when `indexes` is empty (the part is the whole request).
inline int RequestIndex(absl::Span<const int> indexes, int i) {
  return indexes.empty() ? i : indexes[i];
}

// INVALID_ARGUMENT with reason EMPTY_BATCH, TOO_MANY_ENTRIES or
// INVALID_ENTRY_ID (field "entries[i].entry_id").
absl::Status ValidateBatchEntryIds(const std::vector<std::string_view>& ids,
                                   absl::Span<const int> indexes);

// For any repeated field of entries with an entry_id().
template <typename Entries>
absl::Status ValidateBatch(const Entries& entries,
                           absl::Span<const int> indexes) {
  std::vector<std::string_view> ids;
  ids.reserve(entries.size());
  for (const auto& e : entries) ids.emplace_back(e.entry_id());
  return ValidateBatchEntryIds(ids, indexes);
}

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_PARTITION_BATCH_CHECKS_H_
