// Queue management for sluice-bench: one Queues stub per node address, and
// the calls every scenario makes around its measurement (create the queue,
// wait until every partition has a leader, find a partition's leader,
// delete the queue). Each call tries the nodes in turn until one answers,
// so it works while a node is down. Thread-safe (stubs are).
#ifndef SLUICE_BENCH_SLUICE_BENCH_QUEUE_H_
#define SLUICE_BENCH_SLUICE_BENCH_QUEUE_H_

#include <memory>
#include <string>
#include <vector>

#include "bench/sluice_bench_common.h"

namespace sluice::bench {

class QueueAdmin {
 public:
  explicit QueueAdmin(const std::vector<std::string>& addresses);

  size_t size() const { return addresses_.size(); }
  const std::string& address(size_t i) const { return addresses_[i]; }
  v1::Queues::Stub& stub(size_t i) { return *stubs_[i]; }

  // Creates a standard queue (idempotent) through any node, retrying
  // retryable failures until `timeout_ms` has passed.
  absl::Status CreateQueue(const std::string& name, uint32_t partitions,
                           uint32_t replication, int64_t timeout_ms);

  // GetQueue through any node: the first answer that is OK (or NOT_FOUND).
  // `per_call_ms` bounds each node's call.
  absl::StatusOr<v1::GetQueueResponse> GetQueue(const std::string& name,
                                                int64_t per_call_ms);

  // Polls GetQueue until every partition reports a leader address.
  absl::StatusOr<v1::GetQueueResponse> WaitForLeaders(const std::string& name,
                                                      int64_t timeout_ms);

  // DeleteQueue through any node; NOT_FOUND counts as done.
  absl::Status DeleteQueue(const std::string& name, int64_t timeout_ms);

 private:
  std::vector<std::string> addresses_;
  std::vector<std::unique_ptr<v1::Queues::Stub>> stubs_;
};

// A queue name "bench-<scenario>-<8 random hex digits>".
std::string RandomQueueName(const std::string& scenario);

// A random id of 16 hex digits (idempotent producer ids).
std::string RandomHex(int digits);

// Creates the scenario's queue and waits for its leaders; at destruction
// deletes it (unless --keep). Logs what it does.
class ScopedQueue {
 public:
  ScopedQueue(const BenchFlags& flags, QueueAdmin& admin);
  ~ScopedQueue();
  ScopedQueue(const ScopedQueue&) = delete;
  ScopedQueue& operator=(const ScopedQueue&) = delete;

  // Creates the queue and waits for its leaders (up to 30 s).
  absl::Status Create();
  const std::string& name() const { return name_; }
  // The routes seen when the leaders were all known.
  const v1::GetQueueResponse& routes() const { return routes_; }

 private:
  const BenchFlags& flags_;
  QueueAdmin& admin_;
  std::string name_;
  bool created_ = false;
  int watchdog_id_ = 0;
  v1::GetQueueResponse routes_;
};

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_SLUICE_BENCH_QUEUE_H_
