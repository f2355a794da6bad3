// Queue names follow SQS: 1-80 characters of letters, digits, '-' and '_';
// a FIFO queue's name ends in ".fifo" (counted in the 80), and only a FIFO
// queue's may.
#ifndef SLUICE_BROKER_META_QUEUE_NAMES_H_
#define SLUICE_BROKER_META_QUEUE_NAMES_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace sluice::meta {

// INVALID_ARGUMENT naming `field` and what is wrong, or OK.
absl::Status ValidateQueueName(std::string_view name, bool fifo,
                               std::string_view field = "name");

// RESOURCE_EXHAUSTED: the cluster already holds `max_queues` queues.
absl::Status TooManyQueues(uint32_t max_queues);

}  // namespace sluice::meta

#endif  // SLUICE_BROKER_META_QUEUE_NAMES_H_
