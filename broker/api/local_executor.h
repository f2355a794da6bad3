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
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/api/partition_leaders.h"
#include "sluice/internal/transport.pb.h"

namespace sluice::broker {

class LocalExecutor {
 public:
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
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_API_LOCAL_EXECUTOR_H_
