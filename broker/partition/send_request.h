// Turns a public SendRequest (the part routed to one partition) into the
// internal SendBatch to propose, checking everything the state machine would
// refuse first, so that errors name the public field paths and reasons
// (entries[3].body, MESSAGE_TOO_LARGE ...).
//
// Without a producer id each entry stands alone: invalid ones get their
// error, the others are proposed. With one, the request is validated as a
// whole: any invalid entry fails the request (queues.proto,
// SendRequest.producer_id) and no sequence number is used up.
#ifndef SLUICE_BROKER_PARTITION_SEND_REQUEST_H_
#define SLUICE_BROKER_PARTITION_SEND_REQUEST_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "sluice/internal/commands.pb.h"
#include "sluice/v1/queues.pb.h"

namespace sluice::broker {

// Sum of entry sizes (body and attributes) in one request.
inline constexpr size_t kMaxSendRequestBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxProducerIdLength = 64;

struct SendContext {
  const internal::QueueAttributes* attributes = nullptr;  // resolved
  uint32_t partition = 0;  // this partition's index
  absl::Time now;          // the leader's wall clock, for deliver_at
  // Request index of each entry of the part (empty: the part is the
  // request), for field paths in errors.
  absl::Span<const int> request_indexes;
};

struct SendPlan {
  internal::SendBatch batch;  // to propose; may have no entries
  // Per request entry: its position in batch.entries, or -1 if it failed.
  std::vector<int> batch_index;
  // Per request entry: why it failed (OK for proposed entries).
  std::vector<absl::Status> errors;
};

// A request-wide INVALID_ARGUMENT (empty or oversized batch, bad entry ids,
// producer fields, or with a producer id any invalid entry), else the plan.
absl::StatusOr<SendPlan> PlanSend(const v1::SendRequest& request,
                                  const SendContext& context);

// One entry, converted and checked. `index` is its request index.
absl::StatusOr<internal::SendEntry> ConvertSendEntry(
    const v1::SendEntry& entry, int index, const SendContext& context);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_PARTITION_SEND_REQUEST_H_
