// One partition's share of an idempotent producer (proto/sluice/v1/README.md,
// "Idempotent producers"): messages wait here, go out in batches of one
// request at a time, numbered 1, 2, 3, ... under the lane's producer id, and
// a request whose outcome is unknown is sent again unchanged, so the server
// applies each message once however often it is retried.
//
// Pure logic, no I/O and no locking: the producer engine drives it under its
// mutex and runs the returned completions outside it. Time comes in as
// arguments, so tests step it exactly.
#ifndef SLUICE_CLIENT_CPP_SRC_SEND_LANE_H_
#define SLUICE_CLIENT_CPP_SRC_SEND_LANE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/cpp/src/backoff.h"
#include "sluice/client/message.h"
#include "sluice/v1/queues.pb.h"

namespace sluice::client::internal {

using SendCallback = std::function<void(absl::StatusOr<SendReceipt>)>;

struct PendingSend {
  v1::SendEntry entry;  // `partition` set; entry_id set per request
  size_t bytes = 0;
  absl::Time enqueued;
  absl::Time deadline;
  SendCallback done;
  bool answered = false;  // the caller was told (deadline passed)
};

// A callback and its result, to run once the engine's lock is released.
struct Completion {
  SendCallback done;
  absl::StatusOr<SendReceipt> result;
};
using Completions = std::vector<Completion>;

struct BatchLimits {
  int max_messages = 100;
  size_t max_bytes = 1 << 20;
  absl::Duration linger = absl::ZeroDuration();
};

class SendLane {
 public:
  SendLane(uint32_t partition, std::string producer_base,
           const RetryOptions& retry, uint64_t seed);

  uint32_t partition() const { return partition_; }
  std::string producer_id() const;
  uint64_t epoch() const { return epoch_; }
  bool in_flight() const { return in_flight_; }
  // Nothing waiting, nothing sent and unresolved.
  bool idle() const { return waiting_.empty() && current_.empty(); }
  size_t waiting() const { return waiting_.size(); }
  // Requests sent again because their outcome was unknown.
  uint64_t resends() const { return resends_; }

  void Add(PendingSend message);

  // The request to send now, or nullopt: one request at a time; a request
  // to retry goes when its backoff is over; new messages go when a batch is
  // full, the oldest has lingered long enough, or `flush` is set. The lane
  // is then in flight until OnResponse or OnRpcError.
  std::optional<v1::SendRequest> Next(absl::Time now, const BatchLimits& limits,
                                      bool flush, const std::string& queue);
  // When Next may next return a request (none: only an outcome or a new
  // message can change that).
  std::optional<absl::Time> NextWake(const BatchLimits& limits) const;

  // Outcome of the request Next returned.
  Completions OnResponse(const v1::SendResponse& response, absl::Time now);
  Completions OnRpcError(const absl::Status& status, absl::Time now);

  // Tells callers whose deadline has passed: waiting messages fail with
  // DEADLINE_EXCEEDED (never sent); sent ones too, but they stay in the
  // request, whose outcome is unknown, and keep being retried.
  Completions Expire(absl::Time now);

  // Where to send the next attempt: the leader hint of the last failure, or
  // empty (the engine asks for the route again).
  const std::string& target() const { return target_; }
  void set_target(std::string address) { target_ = std::move(address); }

 private:
  // Resends the current request after a backoff.
  void ScheduleRetry(const absl::Status& status, absl::Time now);
  // Renumbers the current request from 1 under a new producer id, after the
  // server reported a gap (an earlier request was never applied).
  void StartNewEpoch();
  void Fail(PendingSend& message, const absl::Status& status, Completions& out);
  void FailCurrent(const absl::Status& status, Completions& out);

  const uint32_t partition_;
  const std::string producer_base_;
  Backoff backoff_;
  uint64_t epoch_ = 0;
  std::deque<PendingSend> waiting_;
  std::vector<PendingSend> current_;  // the request sent or to resend
  uint64_t first_sequence_ = 0;       // of current_
  uint64_t next_sequence_ = 1;        // of the next new request
  bool in_flight_ = false;
  std::optional<absl::Time> retry_at_;
  std::string target_;
  uint64_t resends_ = 0;
};

}  // namespace sluice::client::internal

#endif  // SLUICE_CLIENT_CPP_SRC_SEND_LANE_H_
