// What every part of a client shares: channels to the nodes, the route
// table, the clock, and the retry loop for unary calls. Thread-safe.
#ifndef SLUICE_CLIENT_CPP_SRC_CONNECTION_H_
#define SLUICE_CLIENT_CPP_SRC_CONNECTION_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "client/cpp/src/routing.h"
#include "grpcpp/grpcpp.h"
#include "sluice/client/options.h"
#include "sluice/v1/cluster.grpc.pb.h"
#include "sluice/v1/queues.grpc.pb.h"

namespace sluice::client::internal {

class Connection {
 public:
  explicit Connection(ClientOptions options);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const ClientOptions& options() const { return options_; }
  Clock& clock() const { return *clock_; }
  RouteTable& routes() { return routes_; }

  v1::Queues::Stub& Queues(const std::string& address);
  v1::Cluster::Stub& Cluster(const std::string& address);

  // The next address for a call any node can serve: rotates over the seeds
  // and every leader address learned.
  std::string AnyAddress();
  // A fresh seed for a Backoff's jitter.
  uint64_t NextRandomSeed();

  // Now + timeout (the options' default_timeout when not given).
  absl::Time DeadlineIn(std::optional<absl::Duration> timeout) const;
  // Sets `context`'s deadline: the attempt timeout plus `extra` (a long
  // poll's wait), but not beyond `deadline`.
  void SetAttemptDeadline(grpc::ClientContext& context, absl::Time deadline,
                          absl::Duration extra = absl::ZeroDuration()) const;

  // One attempt of a unary call at `address`; returns the call's status as
  // FromGrpc makes it (with hints attached).
  using Attempt = std::function<absl::Status(const std::string& address,
                                             grpc::ClientContext& context)>;
  // Runs attempts until one succeeds, one fails with a status that is not
  // retryable, or `deadline` passes (then the last error is returned). The
  // first attempt goes to `preferred` if not empty, later ones to the
  // server's leader hint if any, else to AnyAddress().
  // where each successful or hinted answer came from.
  absl::Status Retry(absl::Time deadline, const std::string& preferred,
                     const Attempt& attempt);

  // The queue's route: cached, or fetched with GetQueue when `refresh` or
  // not known yet.
  absl::StatusOr<QueueRoute> Route(const std::string& queue, bool refresh,
                                   absl::Time deadline);

 private:
  struct Stubs {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::Queues::Stub> queues;
    std::unique_ptr<v1::Cluster::Stub> cluster;
  };
  Stubs& StubsFor(const std::string& address);

  const ClientOptions options_;
  Clock* clock_;
  RouteTable routes_;
  std::atomic<uint64_t> rotation_{0};
  std::atomic<uint64_t> random_seed_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Stubs>> stubs_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::client::internal

#endif  // SLUICE_CLIENT_CPP_SRC_CONNECTION_H_
