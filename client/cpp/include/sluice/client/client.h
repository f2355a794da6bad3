// The Sluice C++ client.
//
//   sluice::client::ClientOptions options;
//   options.seeds = {"10.0.0.1:7100", "10.0.0.2:7100"};
//   auto client = sluice::client::Client::Connect(options);
//   auto receipts = client.value()->Send("orders",
//   {OutgoingMessage::Body("hi")});
//
// The client learns each queue's partitions and their leaders (GetQueue)
// and sends data calls straight to the leader, following the server's
// `sluice-leader` hints when leadership moves. Every call retries
// UNAVAILABLE, timeouts and throttling with jittered exponential backoff
// until its deadline (ClientOptions). Every send is idempotent (an
// idempotent producer, see producer.h), so retries never duplicate.
//
// For throughput, use a Producer (batching, callbacks) and a Consumer
// (streaming, leases kept alive while handlers run) instead of the
// one-call-at-a-time methods here.
//
// Thread-safe: one Client may be shared by every thread of a process.
#ifndef SLUICE_CLIENT_CLIENT_H_
#define SLUICE_CLIENT_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sluice/client/consumer.h"
#include "sluice/client/errors.h"
#include "sluice/client/message.h"
#include "sluice/client/options.h"
#include "sluice/client/producer.h"
#include "sluice/v1/cluster.pb.h"
#include "sluice/v1/queues.pb.h"

namespace sluice::client {

namespace internal {
class Connection;
class ProducerEngine;
}  // namespace internal

struct ReceiveOptions {
  int max_messages = 1;                              // 1-100
  std::optional<absl::Duration> wait;                // default: the queue's
  std::optional<absl::Duration> visibility_timeout;  // default: the queue's
  std::vector<std::string> attribute_names;          // empty: all
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  // Checks the options; connects lazily (the first call reaches a node).
  static absl::StatusOr<std::shared_ptr<Client>> Connect(ClientOptions options);
  ~Client();

  // ---- queues (timeout: the options' default_timeout when not given) ----
  absl::StatusOr<v1::CreateQueueResponse> CreateQueue(
      const v1::CreateQueueRequest& request,
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<v1::GetQueueResponse> GetQueue(
      const std::string& queue,
      std::optional<absl::Duration> timeout = std::nullopt);
  // Every queue whose name starts with `prefix`, all pages.
  absl::StatusOr<std::vector<v1::Queue>> ListQueues(
      const std::string& prefix = "",
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<v1::Queue> UpdateQueue(
      const v1::UpdateQueueRequest& request,
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::Status DeleteQueue(
      const std::string& queue, bool force = false,
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<v1::PurgeQueueResponse> PurgeQueue(
      const std::string& queue,
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<v1::GetQueueStatsResponse> GetQueueStats(
      const v1::GetQueueStatsRequest& request,
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<v1::PeekResponse> Peek(
      const v1::PeekRequest& request,
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<v1::RedriveTask> StartRedrive(
      const v1::StartRedriveRequest& request,
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<std::vector<v1::RedriveTask>> ListRedriveTasks(
      const std::string& source_queue = "",
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<v1::RedriveTask> CancelRedrive(
      const std::string& task_id,
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<v1::GetClusterStatusResponse> GetClusterStatus(
      const v1::GetClusterStatusRequest& request,
      std::optional<absl::Duration> timeout = std::nullopt);

  // ---- messages ----
  // Sends messages (any number; batched per partition) and returns one
  // result per message, in order. Idempotent: see producer.h.
  std::vector<absl::StatusOr<SendReceipt>> Send(
      const std::string& queue, std::vector<OutgoingMessage> messages,
      std::optional<absl::Duration> timeout = std::nullopt);
  absl::StatusOr<SendReceipt> Send(
      const std::string& queue, OutgoingMessage message,
      std::optional<absl::Duration> timeout = std::nullopt);
  // Long-polls every partition (Queues.Receive). An empty result is not an
  // error.
  absl::StatusOr<std::vector<v1::Message>> Receive(
      const std::string& queue, const ReceiveOptions& options = {},
      std::optional<absl::Duration> timeout = std::nullopt);
  // Deletes (acknowledges) messages by receipt handle; one status each.
  absl::StatusOr<std::vector<absl::Status>> Delete(
      const std::string& queue, const std::vector<std::string>& receipt_handles,
      std::optional<absl::Duration> timeout = std::nullopt);
  // Sets the remaining lease of received messages; one result each (the
  // new lease end on the server's clock).
  absl::StatusOr<std::vector<absl::StatusOr<absl::Time>>> ChangeVisibility(
      const std::string& queue, const std::vector<std::string>& receipt_handles,
      absl::Duration visibility_timeout,
      std::optional<absl::Duration> timeout = std::nullopt);

  // A batching producer for `queue` (NOT_FOUND if it does not exist).
  absl::StatusOr<std::unique_ptr<Producer>> NewProducer(
      const std::string& queue, const ProducerOptions& options = {});
  // Starts a streaming consumer (see consumer.h).
  absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer(
      const std::string& queue, ConsumerOptions options,
      Consumer::Handler handler);

  internal::Connection& connection() { return *connection_; }

 private:
  explicit Client(std::shared_ptr<internal::Connection> connection);
  // The producer behind Send for `queue` (linger 0), created on first use.
  absl::StatusOr<internal::ProducerEngine*> SendEngine(const std::string& queue,
                                                       absl::Time deadline);

  std::shared_ptr<internal::Connection> connection_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<internal::ProducerEngine>>
      engines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::client

#endif  // SLUICE_CLIENT_CLIENT_H_
