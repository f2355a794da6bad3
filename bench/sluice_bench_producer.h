// A windowed producer: keeps up to `window` Send RPCs outstanding on one
// channel (gRPC callback API), each with `batch` entries. Closed loop (rate
// 0: a new Send as soon as one is answered, the send scenario and the drain
// preload; after a failed RPC it pauses 10 ms rather than spin) or open loop (a
// fixed rate, every message stamped with its intended send time, overdue
// messages batched up to `batch` once the window has room: the latency
// scenario). No retries: a failed RPC or entry counts as failed. One thread of
// its own; the callbacks run on gRPC's threads; stats() may be called from any
// thread.
#ifndef SLUICE_BENCH_SLUICE_BENCH_PRODUCER_H_
#define SLUICE_BENCH_SLUICE_BENCH_PRODUCER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "bench/sluice_bench_common.h"

namespace sluice::bench {

struct ProducerConfig {
  int index = 0;  // the producer number in message ids
  std::string queue;
  int window = 64;  // outstanding Send RPCs
  int batch = 1;    // entries per Send (open loop: at most)
  int size = 1024;
  double rate = 0;     // messages/s; 0 = closed loop
  uint64_t quota = 0;  // stop after this many messages; 0 = no limit
  int64_t start_ns = 0;
  int64_t stop_ns = 0;  // no message is started at or after this time
  int64_t rpc_timeout_ms = 10000;
};

struct ProducerStats {
  uint64_t sent = 0;    // messages put into Send requests
  uint64_t acked = 0;   // entries answered OK
  uint64_t failed = 0;  // entries answered with an error or in a failed RPC
  uint64_t rpcs = 0;
  uint64_t rpc_errors = 0;
  int64_t end_ns = 0;  // when the last answer arrived
  // Per acknowledged message: ack time - (intended) send time.
  Samples ack_latency;
  // The first distinct errors ("UNAVAILABLE: ...") and how often each came.
  std::map<std::string, uint64_t> errors;
};

class WindowedProducer {
 public:
  WindowedProducer(std::shared_ptr<grpc::Channel> channel,
                   ProducerConfig config);
  ~WindowedProducer();
  WindowedProducer(const WindowedProducer&) = delete;
  WindowedProducer& operator=(const WindowedProducer&) = delete;

  // Starts the producer's thread; it waits until config.start_ns.
  void Start();
  // Returns once production stopped and every Send was answered.
  void Wait();
  ProducerStats stats() const;

 private:
  struct Message {
    uint64_t seq;
    int64_t t_ns;
  };
  struct Call;

  // The producer's thread: every Send starts here (never from a callback,
  // which gRPC may run inline when a call fails at once).
  void Run();
  void Issue(const std::vector<Message>& messages);
  void OnDone(Call* call, const grpc::Status& status);
  void NoteError(std::string error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ProducerConfig config_;
  std::unique_ptr<v1::Queues::Stub> stub_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t pause_until_ns_ ABSL_GUARDED_BY(mu_) = 0;
  ProducerStats stats_ ABSL_GUARDED_BY(mu_);
};

// Runs `producers` WindowedProducers, producer i on its own channel to
// addresses[(i + first_address) mod N], and sums their stats. `quota` is
// split among them. The start is 200 ms from now (as the peers do); returns
// it in *start_ns.
ProducerStats RunProducers(const std::vector<std::string>& addresses,
                           int producers, const ProducerConfig& base,
                           uint64_t quota, double seconds, int64_t* start_ns);

// "3 x UNAVAILABLE: ..., 1 x ..." for a summary.
std::string ErrorSummary(const std::map<std::string, uint64_t>& errors);

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_SLUICE_BENCH_PRODUCER_H_
