// A scripted Queues server for the client library's tests: real gRPC on a
// loopback port, with GetQueue answering a given route and Send applying
// idempotent-producer requests to a partition state that several fake
// "nodes" share (as replicas would), or failing as scripted.
#ifndef SLUICE_TESTS_CLIENT_FAKE_QUEUES_SERVER_H_
#define SLUICE_TESTS_CLIENT_FAKE_QUEUES_SERVER_H_

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "sluice/v1/queues.grpc.pb.h"

namespace sluice::client::testing {

// What the cluster has applied, shared by the fake nodes.
class FakePartitions {
 public:
  // Applies `request` with the idempotent-producer rules of queues.proto.
  v1::SendResponse Apply(const v1::SendRequest& request);
  // Bodies in the order they were enqueued (each once).
  std::vector<std::string> bodies() const;

 private:
  mutable absl::Mutex mu_;
  // (producer, partition) -> last applied number.
  std::map<std::pair<std::string, uint32_t>, uint64_t> last_
      ABSL_GUARDED_BY(mu_);
  // (producer, partition, number) -> result of that entry.
  std::map<std::tuple<std::string, uint32_t, uint64_t>, v1::SendResult> results_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
};

// One scripted failure of a Send.
struct SendFailure {
  grpc::StatusCode code = grpc::StatusCode::UNAVAILABLE;
  std::string leader_hint;   // sluice-leader trailer, if any
  bool apply_first = false;  // apply, then lose the answer
};

class FakeQueuesServer final : public v1::Queues::Service {
 public:
  explicit FakeQueuesServer(std::shared_ptr<FakePartitions> partitions);
  ~FakeQueuesServer() override;

  const std::string& address() const { return address_; }
  void set_route(const v1::GetQueueResponse& route);
  // The next Sends fail in this order; then they succeed.
  void FailSends(std::vector<SendFailure> failures);
  // Every Send fails with this code (until cleared with OK).
  void FailAllSends(grpc::StatusCode code);
  std::vector<v1::SendRequest> sends() const;
  int get_queue_calls() const;

  grpc::Status GetQueue(grpc::ServerContext* context,
                        const v1::GetQueueRequest* request,
                        v1::GetQueueResponse* response) override;
  grpc::Status Send(grpc::ServerContext* context,
                    const v1::SendRequest* request,
                    v1::SendResponse* response) override;

 private:
  std::shared_ptr<FakePartitions> partitions_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  mutable absl::Mutex mu_;
  v1::GetQueueResponse route_ ABSL_GUARDED_BY(mu_);
  std::deque<SendFailure> failures_ ABSL_GUARDED_BY(mu_);
  grpc::StatusCode fail_all_ ABSL_GUARDED_BY(mu_) = grpc::StatusCode::OK;
  std::vector<v1::SendRequest> sends_ ABSL_GUARDED_BY(mu_);
  int get_queue_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

// A GetQueue answer for a standard queue `name` with one leader address
// per partition.
v1::GetQueueResponse Route(const std::string& name,
                           const std::vector<std::string>& leaders,
                           bool fifo = false);

}  // namespace sluice::client::testing

#endif  // SLUICE_TESTS_CLIENT_FAKE_QUEUES_SERVER_H_
