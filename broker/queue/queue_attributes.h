// Queue attributes: defaults, validation (INVALID_ARGUMENT naming the field)
// and how a SetQueueAttributes command merges into the current ones.
#ifndef SLUICE_BROKER_QUEUE_QUEUE_ATTRIBUTES_H_
#define SLUICE_BROKER_QUEUE_QUEUE_ATTRIBUTES_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sluice/internal/commands.pb.h"

namespace sluice::broker {

// A standard queue with SQS's defaults, every optional field set.
internal::QueueAttributes DefaultQueueAttributes();

// Checks the fields that are set.
absl::Status ValidateQueueAttributes(const internal::QueueAttributes& attrs);

// Applies `set` to `current` (fully resolved). `first` is true for the
// queue's first SetQueueAttributes, the only one that may choose `fifo`.
// On error `current` is unchanged.
absl::Status MergeQueueAttributes(const internal::SetQueueAttributes& set,
                                  bool first,
                                  internal::QueueAttributes* current);

inline absl::Duration Micros(int64_t micros) {
  return absl::Microseconds(micros);
}

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_QUEUE_QUEUE_ATTRIBUTES_H_
