// The producer behind sluice/client/producer.h and Client::Send: one
// SendLane per partition of the queue, one thread that issues their
// requests asynchronously to the partitions' leaders, and gRPC's callback
// threads that feed the outcomes back.
#ifndef SLUICE_CLIENT_CPP_SRC_PRODUCER_ENGINE_H_
#define SLUICE_CLIENT_CPP_SRC_PRODUCER_ENGINE_H_

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/cpp/src/connection.h"
#include "client/cpp/src/send_lane.h"
#include "sluice/client/producer.h"

namespace sluice::client::internal {

class ProducerEngine final : public Producer {
 public:
  ProducerEngine(std::shared_ptr<Connection> connection, QueueRoute route,
                 ProducerOptions options);
  ~ProducerEngine() override;  // flushes (bounded by the deadlines), stops

  using Producer::Send;
  void Send(OutgoingMessage message, SendCallback done) override;
  // As Send, with an explicit deadline.
  void SendBy(OutgoingMessage message, absl::Time deadline, SendCallback done);
  absl::Status Flush(std::optional<absl::Duration> timeout) override;
  Stats stats() const override;

 private:
  struct Call;
  struct Issue {
    size_t lane;
    uint32_t partition;
    v1::SendRequest request;
    std::string address;  // empty: look the leader up first
  };

  void Run();
  // Takes the requests that should go now and the completions to run.
  void Collect(std::vector<Issue>& issues, Completions& completions,
               absl::Time& wake) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Start(Issue issue);
  void OnDone(Call* call, const grpc::Status& status);
  // Runs completions; called without mu_.
  static void Finish(Completions& completions);
  // Picks the lane of a message (lanes_ index), or an error if it cannot be
  // sent.
  absl::StatusOr<uint32_t> PartitionFor(const OutgoingMessage& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<Connection> connection_;
  const QueueRoute route_;
  const ProducerOptions options_;
  BatchLimits limits_;
  uint32_t lanes_per_partition_ = 1;

  mutable absl::Mutex mu_;
  std::vector<SendLane> lanes_ ABSL_GUARDED_BY(mu_);
  uint32_t spread_ ABSL_GUARDED_BY(mu_) = 0;
  size_t bytes_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t submitted_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<uint64_t> unresolved_ ABSL_GUARDED_BY(mu_);  // submission numbers
  uint64_t flush_waiters_ ABSL_GUARDED_BY(mu_) = 0;
  int calls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  // gRPC callbacks not yet returned; the destructor waits for 0.
  std::atomic<int> callbacks_active_{0};
  std::thread thread_;
};

}  // namespace sluice::client::internal

#endif  // SLUICE_CLIENT_CPP_SRC_PRODUCER_ENGINE_H_
