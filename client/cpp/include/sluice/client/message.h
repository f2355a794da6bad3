// What a producer sends and what it learns back.
#ifndef SLUICE_CLIENT_MESSAGE_H_
#define SLUICE_CLIENT_MESSAGE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "sluice/v1/types.pb.h"

namespace sluice::client {

struct OutgoingMessage {
  std::string body;
  // Message attributes (at most 10; names as SendEntry.attributes).
  std::map<std::string, v1::MessageAttributeValue> attributes;
  // FIFO: required; orders delivery within the group and picks the
  // partition. Standard: an optional label.
  std::string group_id;
  // Optional deduplication id (required on FIFO queues without content-based
  // dedup). Sends are idempotent without one: the library is an idempotent
  // producer, so retries never duplicate. A dedup id also catches the
  // application sending the same thing twice.
  std::string dedup_id;
  // Delivery delay (standard queues only); unset: the queue's default.
  std::optional<absl::Duration> delay;

  // Convenience constructors.
  static OutgoingMessage Body(std::string body) {
    OutgoingMessage m;
    m.body = std::move(body);
    return m;
  }
};

// The server's record of a sent message.
struct SendReceipt {
  std::string message_id;  // empty only when `forgotten` (see below)
  uint32_t partition = 0;
  uint64_t sequence_number = 0;
  // True if nothing new was enqueued: the message repeated an earlier send
  // (same dedup id, or a retry the server had already applied).
  bool duplicate = false;
  // A retry found the message applied long ago and its result gone
  // (PRODUCER_SEQUENCE_STALE): it was sent, its id is not known.
  bool forgotten = false;
};

}  // namespace sluice::client

#endif  // SLUICE_CLIENT_MESSAGE_H_
