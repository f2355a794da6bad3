// Small shared types of the queue state machine: message sequence numbers,
// the limits SQS documents (and ours beyond them).
#ifndef SLUICE_BROKER_QUEUE_TYPES_H_
#define SLUICE_BROKER_QUEUE_TYPES_H_

#include <cstdint>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/strong_int.h"

namespace sluice::broker {

// A message's number within its partition: 1, 2, 3 ... in send (log) order.
// Together with the partition it is the message id.
using MessageSeq = StrongInt<struct MessageSeqTag>;
// The partition (its Raft group id).
using PartitionId = StrongInt<struct PartitionIdTag>;

// Debian 12's Abseil has its own string_view type, not std::string_view.
inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Limits, from SQS where SQS defines them.
inline constexpr absl::Duration kMaxVisibilityTimeout = absl::Hours(12);
inline constexpr absl::Duration kDefaultVisibilityTimeout = absl::Seconds(30);
inline constexpr absl::Duration kMaxQueueDelay = absl::Minutes(15);
inline constexpr absl::Duration kMinRetention = absl::Seconds(60);
inline constexpr absl::Duration kMaxRetention = absl::Hours(14 * 24);
inline constexpr absl::Duration kDefaultRetention = absl::Hours(4 * 24);
inline constexpr uint32_t kMinMaxMessageSize = 1024;
inline constexpr uint32_t kMaxMaxMessageSize = 1024 * 1024;
inline constexpr uint32_t kDefaultMaxMessageSize = 256 * 1024;
inline constexpr int kMaxAttributes = 10;
inline constexpr int kMaxNameLength = 256;  // attribute names
inline constexpr int kMaxIdLength = 128;    // group and dedup ids
inline constexpr absl::Duration kDefaultDedupWindow = absl::Minutes(5);
inline constexpr absl::Duration kMinDedupWindow = absl::Seconds(1);
inline constexpr absl::Duration kMaxDedupWindow = absl::Hours(24);
inline constexpr uint32_t kMaxReceiveCountLimit = 1000;
// Receive counts saturate here (24 bits in the index).
inline constexpr uint32_t kReceiveCountCap = (1u << 24) - 1;

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_QUEUE_TYPES_H_
