#include "raft/core/inflights.h"

#include "base/logging.h"

namespace sluice::raft {

void Inflights::Add(Index last_index, uint64_t bytes) {
  SLUICE_CHECK(!Full()) << "inflights: add to a full window";
  SLUICE_CHECK(items_.empty() || items_.back().last_index < last_index)
      << "inflights: index " << last_index << " out of order";
  items_.push_back({last_index, bytes});
  bytes_ += bytes;
}

void Inflights::FreeLE(Index index) {
  while (!items_.empty() && items_.front().last_index <= index) {
    bytes_ -= items_.front().bytes;
    items_.pop_front();
  }
}

void Inflights::FreeFirstOne() {
  if (items_.empty()) return;
  bytes_ -= items_.front().bytes;
  items_.pop_front();
}

bool Inflights::Full() const {
  return items_.size() >= max_count_ ||
         (max_bytes_ != 0 && bytes_ >= max_bytes_);
}

void Inflights::Reset() {
  items_.clear();
  bytes_ = 0;
}

}  // namespace sluice::raft
