// Consumers for sluice-bench. Each runs on a thread of its own, reports to a
// shared ConsumeSink and stops when the sink says the consumption is done.
//
// StreamConsumer: Queues.StreamReceive. Opens with `start` carrying
// initial_credits of `credits` messages; for every delivered batch it sends
// one `ack` item (non-zero correlation id, so the server confirms each
// handle) followed by a `credits` item re-granting as many messages. A
// stream that ends early (leader change, node down, no word for three
// heartbeat intervals) is reopened, on the next address after an error;
// acks not yet confirmed are sent again on the new stream (handles work on
// any stream).
//
// UnaryConsumer: Receive(max_messages = batch, wait_time 1 s), then one
// Delete of the received handles, in a loop.
#ifndef SLUICE_BENCH_SLUICE_BENCH_CONSUME_H_
#define SLUICE_BENCH_SLUICE_BENCH_CONSUME_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/sluice_bench_common.h"
#include "bench/sluice_bench_sink.h"

namespace sluice::bench {

struct ConsumerConfig {
  std::vector<std::string> addresses;
  size_t first_address = 0;  // index into addresses to start with
  std::string queue;
  int batch = 64;  // stream: credits; unary: max_messages
  int64_t rpc_timeout_ms = 10000;
};

struct ConsumerStats {
  uint64_t streams = 0;     // streams opened (1 + reconnects)
  uint64_t rpc_errors = 0;  // failed calls / streams that ended with an error
  std::string last_error;
};

class Consumer {
 public:
  virtual ~Consumer() = default;
  virtual void Start() = 0;
  // Returns once the sink is done and the consumer has stopped.
  virtual void Wait() = 0;
  virtual ConsumerStats stats() const = 0;
  // Whether the consumer is ready to receive (stream: `started` arrived).
  virtual bool Ready() const = 0;
};

std::unique_ptr<Consumer> NewStreamConsumer(ConsumerConfig config,
                                            ConsumeSink* sink);
std::unique_ptr<Consumer> NewUnaryConsumer(ConsumerConfig config,
                                           ConsumeSink* sink);

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_SLUICE_BENCH_CONSUME_H_
