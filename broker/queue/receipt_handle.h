// Receipt handles: the opaque string a receiver gets with each leased message
// and gives back to delete it or change its visibility. It names the
// partition, the message and the receive count of that lease, so a handle
// from an earlier lease is recognised as stale.
//
// Encoding (version 1): base64url without padding of
//   0x01 | partition (8 bytes BE) | sequence (8 bytes BE) |
//   receive count (4 bytes BE) | CRC-32C of the previous 21 bytes (4 bytes BE)
// 25 bytes, 34 characters. The CRC catches typos and truncation; handles are
// not secret and not signed (anyone who can delete can read the queue).
#ifndef SLUICE_BROKER_QUEUE_RECEIPT_HANDLE_H_
#define SLUICE_BROKER_QUEUE_RECEIPT_HANDLE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/queue/types.h"

namespace sluice::broker {

struct ReceiptHandle {
  PartitionId partition;
  MessageSeq sequence;
  uint32_t receive_count = 0;

  std::string Encode() const;
  // INVALID_ARGUMENT naming "receipt_handle" for anything not produced by
  // Encode.
  static absl::StatusOr<ReceiptHandle> Decode(std::string_view text);

  friend bool operator==(const ReceiptHandle&, const ReceiptHandle&) = default;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_QUEUE_RECEIPT_HANDLE_H_
