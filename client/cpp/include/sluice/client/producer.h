// A batching, idempotent producer for one queue.
//
//   auto producer = client->NewProducer("orders", {.linger =
//   absl::Milliseconds(5)});
//   producer.value()->Send(OutgoingMessage::Body("hello"),
//                          [](absl::StatusOr<SendReceipt> r) { ... });
//   std::future<absl::StatusOr<SendReceipt>> f = producer.value()->Send(m);
//   producer.value()->Flush();
//
// Messages are routed to their partition (FIFO: by group id; standard: by
// dedup id, else spread round-robin) and sent straight to the partition's
// leader, in batches: each of up to requests_per_partition requests per
// partition carries the messages that came due meanwhile (up to
// max_batch_messages / max_batch_bytes); a partial batch waits up to
// `linger` for company.
//
// Every send is idempotent: the producer numbers each partition's messages
// under its own producer id and resends a request whose outcome is unknown
// (UNAVAILABLE, timeout, leader change) with the same numbers, so a retried
// send is never enqueued twice, in standard queues too. A message's
// callback runs once, with its receipt, or with an error once it fails for
// good or its deadline passes (DEADLINE_EXCEEDED: outcome unknown).
//
// Thread-safe. Callbacks run on the producer's threads and should be quick.
#ifndef SLUICE_CLIENT_PRODUCER_H_
#define SLUICE_CLIENT_PRODUCER_H_

#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sluice/client/message.h"

namespace sluice::client {

struct ProducerOptions {
  // At most this many messages per request (1-100).
  int max_batch_messages = 100;
  // At most this many body bytes per request (up to 4 MiB); a larger
  // message goes alone.
  size_t max_batch_bytes = 1 << 20;
  // How long a partial batch waits for more messages. 0: a message goes as
  // soon as its partition has no request in flight (batches still form
  // under load).
  absl::Duration linger = absl::Milliseconds(5);
  // Send() blocks while this many body bytes are queued or unconfirmed
  // (until the message's deadline).
  size_t max_bytes_in_flight = 64 << 20;
  // Requests in flight per partition (1-16). Each is its own idempotent
  // producer (one id, one request at a time); a FIFO group always uses the
  // same one, so its messages keep their order; a standard queue's messages
  // are then enqueued in best-effort order. More overlaps round trips on a
  // slow network but makes smaller batches: on one 2-core machine 1 was
  // best (bench/README.md, client-send).
  int requests_per_partition = 1;
  // Deadline of each message, retries included; 0: the client's
  // default_timeout.
  absl::Duration send_timeout = absl::ZeroDuration();
};

using SendCallback = std::function<void(absl::StatusOr<SendReceipt>)>;

class Producer {
 public:
  virtual ~Producer() = default;

  // Queues a message; `done` runs exactly once.
  virtual void Send(OutgoingMessage message, SendCallback done) = 0;
  std::future<absl::StatusOr<SendReceipt>> Send(OutgoingMessage message);

  // Sends what waits at once and returns when every message queued before
  // the call is resolved and its callback has returned (so never call it
  // from a Send callback), or DEADLINE_EXCEEDED.
  virtual absl::Status Flush(
      std::optional<absl::Duration> timeout = std::nullopt) = 0;

  // Counters, for logs and tests.
  struct Stats {
    uint64_t messages = 0;  // resolved
    uint64_t failed = 0;
    uint64_t requests = 0;  // Send RPCs issued
    uint64_t retries = 0;   // of those, resends of an unresolved request
    uint64_t new_epochs = 0;
  };
  virtual Stats stats() const = 0;
};

}  // namespace sluice::client

#endif  // SLUICE_CLIENT_PRODUCER_H_
