// A stored message (QueueStateMachine::ReadMessage) as the public API shows
// it: v1::Message without the per-delivery fields (receipt handle, lease
// deadline, state), which the caller sets.
#ifndef SLUICE_BROKER_PARTITION_MESSAGE_VIEW_H_
#define SLUICE_BROKER_PARTITION_MESSAGE_VIEW_H_

#include <cstdint>
#include <string>

#include "broker/queue/queue_state_machine.h"
#include "google/protobuf/repeated_field.h"
#include "sluice/v1/types.pb.h"

namespace sluice::broker {

struct MessageViewOptions {
  uint64_t queue_id = 0;
  uint32_t partition = 0;
  // ReceiveRequest/PeekRequest.message_attribute_names; nullptr: all.
  const google::protobuf::RepeatedPtrField<std::string>* attribute_names =
      nullptr;
  bool omit_body = false;
};

v1::Message ToPublicMessage(const StoredMessage& message,
                            const MessageViewOptions& options);

// Size as counted against max_message_size (validation.h MessageSize).
uint32_t StoredMessageSize(const internal::StoredBody& body);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_PARTITION_MESSAGE_VIEW_H_
