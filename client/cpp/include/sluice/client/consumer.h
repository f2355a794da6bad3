// A streaming consumer: messages arrive over Queues.StreamReceive as fast
// as the handlers take them, within flow-control limits.
//
//   ConsumerOptions options;
//   options.concurrency = 8;
//   auto consumer = client->NewConsumer("jobs", options,
//       [](const v1::Message& m) -> absl::Status { return Process(m); });
//   ...
//   consumer.value()->Stop();   // graceful: finishes in-flight handlers
//
// For each message the handler runs once on one of `concurrency` threads.
// While it runs, the consumer extends the message's lease before it runs
// out (as Google Pub/Sub's clients do), so a slow handler never loses its
// message to another consumer, up to max_lease_extension. OK acks
// (deletes) the message; an error nacks it with a backoff that grows with
// the message's receive count, so it comes back later (and, with a
// redrive policy, ends in the dead-letter queue). The stream reconnects to
// another node when it ends; leases granted earlier stay valid there.
//
// Stop() takes no new messages, releases the ones received but not
// started, waits for running handlers (up to shutdown_timeout) and acks or
// nacks their messages.
#ifndef SLUICE_CLIENT_CONSUMER_H_
#define SLUICE_CLIENT_CONSUMER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sluice/v1/types.pb.h"

namespace sluice::client {

struct ConsumerOptions {
  // Handler threads: at most this many messages are processed at once.
  int concurrency = 4;
  // Messages received but not yet finished (running or waiting for a
  // handler): the stream's credit. At least `concurrency`.
  int max_outstanding_messages = 0;  // 0: 2 x concurrency
  // The same in body bytes; 0: no byte limit.
  uint64_t max_outstanding_bytes = 64 << 20;
  // Lease of each delivery and of each extension; 0: the queue's
  // visibility_timeout.
  absl::Duration lease = absl::ZeroDuration();
  // A lease is extended when a third of it is left.
  // Extensions stop this long after the delivery; the message may then be
  // delivered again elsewhere while the handler still runs.
  absl::Duration max_lease_extension = absl::Hours(1);
  // Nack backoff: redelivery after min(initial * 2^(receive_count - 1),
  // max).
  absl::Duration nack_initial_backoff = absl::Seconds(1);
  absl::Duration nack_max_backoff = absl::Minutes(1);
  // Only these partitions; empty: all.
  std::vector<uint32_t> partitions;
  std::string client_id;
  absl::Duration shutdown_timeout = absl::Seconds(30);
};

class Consumer {
 public:
  // Runs on a consumer thread; OK acks the message, an error nacks it.
  using Handler = std::function<absl::Status(const v1::Message&)>;

  virtual ~Consumer() = default;  // stops (as Stop) if still running

  // Graceful stop; returns when every handler has finished and its outcome
  // was sent, or after shutdown_timeout.
  virtual void Stop() = 0;

  struct Stats {
    uint64_t received = 0;
    uint64_t acked = 0;       // ack confirmed by the server
    uint64_t nacked = 0;      // handler failed; released with backoff
    uint64_t released = 0;    // received but not handled (stop)
    uint64_t extensions = 0;  // lease extensions confirmed
    // Leases lost while a handler worked: an extension or ack was refused
    // (stale handle, lease already run out) or the server reported the
    // lease expired. The message may be processed twice.
    uint64_t leases_lost = 0;
    uint64_t ack_failures = 0;
    uint64_t reconnects = 0;
  };
  virtual Stats stats() const = 0;
};

}  // namespace sluice::client

#endif  // SLUICE_CLIENT_CONSUMER_H_
