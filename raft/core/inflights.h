// Inflights: the window of APPEND messages sent to one follower and not yet
// acknowledged, bounded by count and by bytes. Owned by the follower's
// Progress inside the leader's core; single-threaded like the core.
#ifndef SLUICE_RAFT_CORE_INFLIGHTS_H_
#define SLUICE_RAFT_CORE_INFLIGHTS_H_

#include <cstddef>
#include <cstdint>
#include <deque>

#include "raft/types.h"

namespace sluice::raft {

class Inflights {
 public:
  // max_bytes == 0: no byte limit.
  Inflights(size_t max_count, uint64_t max_bytes)
      : max_count_(max_count), max_bytes_(max_bytes) {}

  // Records an APPEND whose last entry is `last_index`, carrying `bytes`.
  // Indexes must be added in increasing order.
  void Add(Index last_index, uint64_t bytes);
  // Frees every message whose last index is <= `index` (acknowledged).
  void FreeLE(Index index);
  // Frees the oldest message: used when the peer answers a heartbeat while
  // the window is full, since lost appends would otherwise block it forever.
  void FreeFirstOne();
  // True when no more messages may be sent until some are acknowledged.
  bool Full() const;
  void Reset();

  size_t count() const { return items_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Item {
    Index last_index;
    uint64_t bytes;
  };
  size_t max_count_;
  uint64_t max_bytes_;
  std::deque<Item> items_;
  uint64_t bytes_ = 0;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_INFLIGHTS_H_
