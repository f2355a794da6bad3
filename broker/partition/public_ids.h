// The identifiers the public API (proto/sluice/v1) hands to clients for one
// message: its message id and the receipt handle of one lease. Both name the
// queue (by its never-reused id) and the partition index, so the node can
// route a Delete or ChangeVisibility by handle alone, and a handle from a
// deleted-and-recreated queue is refused.
//
// The queue state machine has its own, internal receipt handle (naming the
// Raft group); PartitionOps translates between the two.
#ifndef SLUICE_BROKER_PARTITION_PUBLIC_IDS_H_
#define SLUICE_BROKER_PARTITION_PUBLIC_IDS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/queue/types.h"

namespace sluice::broker {

// A receipt handle as types.proto (Message.receipt_handle) lays it out,
// version 1: URL-safe base64 without padding of 29 bytes
//   0x01 | queue_id u64 | partition u32 | sequence u64 | receive_count u32 |
//   CRC-32C of the 25 bytes before, all big-endian.
struct PublicReceipt {
  uint64_t queue_id = 0;
  uint32_t partition = 0;
  MessageSeq sequence;
  uint32_t receive_count = 0;

  std::string Encode() const;
  // INVALID_ARGUMENT (reason RECEIPT_HANDLE_INVALID, field "receipt_handle")
  // for anything Encode did not produce. Does not check the queue.
  static absl::StatusOr<PublicReceipt> Decode(std::string_view text);

  friend bool operator==(const PublicReceipt&, const PublicReceipt&) = default;
};

// The partition a public receipt handle names, for routing. INVALID_ARGUMENT
// (reason RECEIPT_HANDLE_INVALID) for garbage or a handle of another queue.
absl::StatusOr<uint32_t> ReceiptHandlePartition(std::string_view handle,
                                                uint64_t queue_id);

// Message.message_id: 40 lowercase hex digits, queue id (16), partition (8),
// sequence (16). Deterministic, so every replica agrees; opaque to clients.
std::string FormatMessageId(uint64_t queue_id, uint32_t partition,
                            MessageSeq sequence);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_PARTITION_PUBLIC_IDS_H_
