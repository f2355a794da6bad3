// The streaming consumer behind sluice/client/consumer.h. Three kinds of
// threads: one reads the stream (and reconnects it), one writes to it
// (credits, acks, nacks, lease extensions, on a short timer), and
// `concurrency` workers run the handler.
#ifndef SLUICE_CLIENT_CPP_SRC_CONSUMER_IMPL_H_
#define SLUICE_CLIENT_CPP_SRC_CONSUMER_IMPL_H_

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "client/cpp/src/connection.h"
#include "client/cpp/src/lease_keeper.h"
#include "sluice/client/consumer.h"

namespace sluice::client::internal {

std::unique_ptr<Consumer> StartConsumer(std::shared_ptr<Connection> connection,
                                        std::string queue,
                                        ConsumerOptions options,
                                        Consumer::Handler handler);

// The nack delay for a message received `receive_count` times.
absl::Duration NackDelay(const ConsumerOptions& options,
                         uint32_t receive_count);

class ConsumerImpl final : public Consumer {
 public:
  ConsumerImpl(std::shared_ptr<Connection> connection, std::string queue,
               ConsumerOptions options, Handler handler);
  ~ConsumerImpl() override;
  void Start();
  void Stop() override;
  Stats stats() const override;

 private:
  using Stream = grpc::ClientReaderWriter<v1::StreamReceiveRequest,
                                          v1::StreamReceiveResponse>;
  enum class ItemKind { kAck, kNack, kExtend, kOther };
  struct SentItem {
    ItemKind kind = ItemKind::kOther;
    absl::Time asked;
    // The item's receipt handles, in order (results come in this order);
    // unanswered acks are sent again when the stream ends.
    std::vector<std::string> handles;
  };
  struct Outbox {
    std::vector<std::string> acks;
    std::vector<std::pair<std::string, absl::Duration>> nacks;
    std::vector<std::string> extends;
    uint32_t credit_messages = 0;
    uint64_t credit_bytes = 0;
    bool empty() const {
      return acks.empty() && nacks.empty() && extends.empty() &&
             credit_messages == 0 && credit_bytes == 0;
    }
  };

  void ReadLoop();
  // Where to open the stream: the leader of the first partition read.
  std::string StreamAddress(bool refresh);
  // One stream's life: start, read until it ends. Returns the leader hint.
  std::string RunStream(const std::string& address);
  void OnResponse(const v1::StreamReceiveResponse& response);
  void WriteLoop();
  // Sends `out` on the stream, or by unary calls when there is none.
  void Deliver(Outbox& out);
  bool WriteItems(Outbox& out);
  void DeliverUnary(Outbox& out);
  void WorkLoop();
  // Hands a finished message's outcome to the writer.
  void Finish(const std::string& lane, const v1::Message& message,
              const absl::Status& outcome);

  const std::shared_ptr<Connection> connection_;
  const std::string queue_;
  const ConsumerOptions options_;
  const Handler handler_;
  const int capacity_;  // max outstanding messages

  // Messages waiting for a handler, in lanes: on a FIFO queue one lane per
  // message group, worked through one message at a time in delivery order
  // (a receive may hand out several messages of a group at once); on a
  // standard queue one lane per message.
  struct Lane {
    std::deque<v1::Message> messages;
    bool running = false;
  };
  // Queues `m` in its lane.
  void Enqueue(v1::Message m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives back every message of `lane` not started yet (nack, `delay`).
  void ReleaseLane(Lane& lane, absl::Duration delay)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  bool fifo_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, Lane> lanes_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> ready_ ABSL_GUARDED_BY(mu_);  // lanes to work on
  Outbox outbox_ ABSL_GUARDED_BY(mu_);
  LeaseKeeper keeper_ ABSL_GUARDED_BY(mu_);
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t outstanding_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // no new work
  bool closed_ ABSL_GUARDED_BY(mu_) = false;    // threads must end
  bool writer_wake_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* stream_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Time last_heard_ ABSL_GUARDED_BY(mu_);
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(5);
  std::map<uint64_t, SentItem> sent_ ABSL_GUARDED_BY(mu_);
  // Acks that failed for a passing reason (leader change), by handle: when
  // they first failed. Retried for one lease length: a delete works even
  // after the lease ran out, until someone else receives the message.
  absl::flat_hash_map<std::string, absl::Time> ack_failed_since_
      ABSL_GUARDED_BY(mu_);
  // Counts a failed ack, or queues it again if the failure may pass.
  void AckFailed(const std::string& handle, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t next_correlation_ ABSL_GUARDED_BY(mu_) = 1;
  Stats stats_ ABSL_GUARDED_BY(mu_);

  // Serializes writes to the stream and its replacement.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  Stream* stream_ ABSL_GUARDED_BY(write_mu_) = nullptr;

  std::thread reader_;
  std::thread writer_;
  std::vector<std::thread> workers_;
  bool stopped_ = false;  // Stop() ran (caller's thread only)
};

}  // namespace sluice::client::internal

#endif  // SLUICE_CLIENT_CPP_SRC_CONSUMER_IMPL_H_
