// Queue configuration between the public API (v1 QueueAttributes, Queue)
// and what the cluster stores (QueueRecord: the resolved public attributes
// plus the queue state machine's internal form). Defaults and ranges are
// types.proto's; every error is INVALID_ARGUMENT (or FAILED_PRECONDITION
// where types.proto says so) naming the field path.
//
// Pure functions; any thread.
#ifndef SLUICE_BROKER_META_QUEUE_CONFIG_H_
#define SLUICE_BROKER_META_QUEUE_CONFIG_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "sluice/internal/metadata.pb.h"
#include "sluice/v1/queues.pb.h"

namespace sluice::meta {

// The type a CreateQueue asks for (explicit or from the name), checked
// against the name.
absl::StatusOr<bool> ResolveFifo(const v1::CreateQueueRequest& request);

// Fills every unset attribute with its default and checks every range and
// combination that does not need the cluster state. `cluster_nodes` bounds
// replication_factor (default min(3, nodes)).
absl::StatusOr<v1::QueueAttributes> ResolveAttributes(
    const v1::QueueAttributes& given, bool fifo, uint32_t cluster_nodes);

// The checks that need the cluster's queues: the dead-letter queue exists,
// has the same type and is not the queue itself.
absl::Status CheckDeadLetterQueue(const v1::QueueAttributes& resolved,
                                  const std::string& queue_name, bool fifo,
                                  const sluice::internal::MetadataState& state);

// Tags: at most 50; keys 1–128 characters, values 0–256.
absl::Status ValidateTags(
    const google::protobuf::Map<std::string, std::string>& tags,
    const char* field = "tags");

// The queue state machine's form of resolved attributes.
sluice::internal::QueueAttributes ToInternalAttributes(
    const v1::QueueAttributes& resolved, bool fifo, const std::string& name);

// UpdateQueue: the attributes after applying `request` (mask rules of
// UpdateQueueRequest.update_mask) to `current`, resolved and checked except
// for CheckDeadLetterQueue. Sets *replace_tags if the tags change.
absl::StatusOr<v1::QueueAttributes> ApplyUpdate(
    const v1::QueueAttributes& current, bool fifo,
    const v1::UpdateQueueRequest& request, uint32_t cluster_nodes,
    bool* replace_tags);

// The public view of a stored queue.
v1::Queue ToPublicQueue(const sluice::internal::QueueRecord& record);

}  // namespace sluice::meta

#endif  // SLUICE_BROKER_META_QUEUE_CONFIG_H_
