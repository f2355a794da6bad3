#include "broker/partition/batch_checks.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "broker/partition/entry_status.h"
#include "sluice/v1/types.pb.h"

namespace sluice::broker {

absl::Status ValidateBatchEntryIds(const std::vector<std::string_view>& ids,
                                   absl::Span<const int> indexes) {
  if (ids.empty()) {
    return InvalidField("entries", "at least one entry is required",
                        v1::ERROR_REASON_EMPTY_BATCH);
  }
  if (ids.size() > static_cast<size_t>(kMaxBatchEntries)) {
    return InvalidField(
        "entries",
        absl::StrFormat("%d entries, at most %d", ids.size(), kMaxBatchEntries),
        v1::ERROR_REASON_TOO_MANY_ENTRIES);
  }
  absl::flat_hash_set<std::string_view> seen;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string field = absl::StrFormat(
        "entries[%d].entry_id", RequestIndex(indexes, static_cast<int>(i)));
    const std::string_view id = ids[i];
    bool ok = !id.empty() && id.size() <= kMaxEntryIdLength;
    for (char c : id) {
      ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  c == '_' || c == '-');
    }
    if (!ok) {
      return InvalidField(field, "must have 1 to 80 of A-Z a-z 0-9 _ -",
                          v1::ERROR_REASON_INVALID_ENTRY_ID);
    }
    if (!seen.insert(id).second) {
      return InvalidField(field, "repeats an earlier entry's id",
                          v1::ERROR_REASON_INVALID_ENTRY_ID);
    }
  }
  return absl::OkStatus();
}

}  // namespace sluice::broker
