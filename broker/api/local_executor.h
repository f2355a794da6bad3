// LocalExecutor: runs a request for one queue partition on this node, which
// must lead it. The request and response are the forwarding envelope of
// transport.proto (ForwardRequest / ForwardResponse), whether the request
// came from a client of this node or was forwarded by a peer: one code path
// for both.
//
// Loop thread only: Execute is called from a task posted to the host, and
// `done` runs on the loop thread.
#ifndef SLUICE_BROKER_API_LOCAL_EXECUTOR_H_
#define SLUICE_BROKER_API_LOCAL_EXECUTOR_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/api/partition_leaders.h"
#include "sluice/internal/transport.pb.h"

namespace sluice::broker {

class LocalExecutor {
 public:
  // What this node did as the partition's leader (node-local, for metrics:
  // they restart from 0 on another leader, as Prometheus counters may).
  struct Counters {
    uint64_t sent = 0;      // new messages (duplicates not counted)
    uint64_t received = 0;  // leases granted
    uint64_t deleted = 0;   // deletes and acks that succeeded
  };
  using Done =
      std::function<void(absl::StatusOr<sluice::internal::ForwardResponse>)>;

  // `clock` is the queues' monotonic clock (long-poll deadlines).
  LocalExecutor(PartitionLeaders& leaders, const Clock* clock)
      : leaders_(leaders), clock_(clock) {}

  // `budget` (the caller's time left) bounds a long-poll receive; other
  // requests answer when their proposal completes. A long poll stops
  // waiting, leasing nothing more, once `*cancelled` is true.
  void Execute(const sluice::internal::ForwardRequest& request,
               absl::Duration budget, Done done,
               std::shared_ptr<std::atomic<bool>> cancelled = nullptr);

  const std::map<raft::GroupId, Counters>& counters() const {
    return counters_;
  }

 private:
  void Receive(raft::GroupId group, v1::ReceiveRequest request,
               absl::Time wait_until, Done done,
               std::shared_ptr<std::atomic<bool>> cancelled);
  void StreamItem(PartitionLeaders::Lead& lead,
                  const v1::StreamReceiveRequest& item, Done done);
  absl::Status CheckBacklog(const PartitionLeaders::Lead& lead,
                            const v1::SendRequest& request);

  PartitionLeaders& leaders_;
  const Clock* clock_;
  std::map<raft::GroupId, Counters> counters_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_API_LOCAL_EXECUTOR_H_
