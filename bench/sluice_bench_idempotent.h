// The failover scenario's producer: an idempotent producer (proto README,
// "Idempotent producers") at a fixed rate. Message k (from 1) goes to
// partition (k-1) mod partitions, its entry sets `partition`, and each
// partition numbers its entries 1, 2, 3, ... under one random producer_id.
// Each partition has at most one Send in flight (as SendRequest.producer_id
// requires); messages that come due meanwhile wait and go out together,
// up to `batch` per Send, stamped with their intended send times. A Send
// that fails with UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED or
// RESOURCE_EXHAUSTED (the RPC or its entries) is sent again unchanged, same
// numbers, after a backoff, to the node named by the `sluice-leader` hint
// if it is one of ours, else to the leader GetQueue reports, else to the
// next node, until give_up_ns. It only ever talks to `addresses`.
//
// One thread of its own; callbacks on gRPC's threads; the accessors may be
// called from any thread.
#ifndef SLUICE_BENCH_SLUICE_BENCH_IDEMPOTENT_H_
#define SLUICE_BENCH_SLUICE_BENCH_IDEMPOTENT_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "bench/sluice_bench_common.h"

namespace sluice::bench {

struct IdempotentConfig {
  std::vector<std::string> addresses;  // the nodes this producer may use
  std::string queue;
  uint32_t partitions = 1;
  double rate = 1000;
  int batch = 100;
  int size = 1024;
  int64_t start_ns = 0;
  int64_t stop_ns = 0;     // no message is due at or after this
  int64_t give_up_ns = 0;  // stop retrying
  int64_t rpc_timeout_ms = 2000;
};

struct IdempotentStats {
  std::string producer_id;
  uint64_t sent = 0;            // messages generated, ids 1..sent
  uint64_t confirmed = 0;       // acknowledged (once each)
  uint64_t duplicate_acks = 0;  // results with duplicate = true
  uint64_t stale_acks = 0;      // PRODUCER_SEQUENCE_STALE: applied earlier
  uint64_t failed = 0;          // non-retryable errors
  uint64_t unanswered = 0;      // still unconfirmed at give-up
  uint64_t rpcs = 0;
  uint64_t rpc_errors = 0;  // failed RPCs and RPCs with failed entries
  uint64_t retries = 0;
  uint64_t producer_id_changes = 0;  // after a sequence gap
  int64_t max_gap_ns = 0;            // longest time between two acks
  int64_t max_gap_start_ns = 0;
  int64_t kill_gap_ns = 0;  // longest such time ending after the kill
  int64_t end_ns = 0;
  std::map<std::string, uint64_t> errors;
};

class IdempotentProducer {
 public:
  explicit IdempotentProducer(IdempotentConfig config);
  ~IdempotentProducer();
  IdempotentProducer(const IdempotentProducer&) = delete;
  IdempotentProducer& operator=(const IdempotentProducer&) = delete;

  void Start();
  // Returns once everything is confirmed (or given up) and no Send is in
  // flight.
  void Wait();
  // When the leader was killed (for kill_gap_ns).
  void SetKillTime(int64_t kill_ns);

  IdempotentStats stats() const;
  // Whether message number `seq` (1..sent) was acknowledged.
  bool Confirmed(uint64_t seq) const;

 private:
  struct Pending {
    uint64_t seq;
    int64_t t_ns;
  };
  // One partition's send state.
  struct Lane {
    uint32_t partition = 0;
    std::deque<Pending> waiting;   // due, not yet in a request
    std::vector<Pending> current;  // the request in flight or to retry
    uint64_t first_sequence = 0;   // of `current`
    uint64_t next_sequence = 1;    // for the next new request
    bool in_flight = false;
    int attempts = 0;
    int64_t retry_at_ns = 0;
    bool resolve = false;  // find the leader before the next attempt
    std::string hint;      // sluice-leader of the last failure
    size_t target = 0;     // index into addresses
  };
  struct Call;

  void Run();
  // Fills `lane.current` or decides on a retry; true if a Send should go.
  bool Ready(Lane& lane, int64_t now_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Chooses lane `i`'s target node (GetQueue); called without mu_.
  void Resolve(size_t i);
  void Issue(size_t i);
  void OnDone(Call* call, const grpc::Status& status);
  void Retry(Lane& lane, int64_t now_ns, std::string hint)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Acked(int64_t now_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoteError(std::string error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const IdempotentConfig config_;
  std::vector<std::unique_ptr<v1::Queues::Stub>> stubs_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  std::string producer_id_ ABSL_GUARDED_BY(mu_);
  std::vector<Lane> lanes_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> confirmed_ ABSL_GUARDED_BY(mu_);  // by seq
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  int64_t last_ack_ns_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t kill_ns_ ABSL_GUARDED_BY(mu_) = 0;
  IdempotentStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_SLUICE_BENCH_IDEMPOTENT_H_
