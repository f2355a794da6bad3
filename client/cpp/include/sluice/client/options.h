// Options of the Sluice client library: how to reach the cluster and how
// hard to try.
#ifndef SLUICE_CLIENT_OPTIONS_H_
#define SLUICE_CLIENT_OPTIONS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"

namespace sluice {
class Clock;
}

namespace sluice::client {

// Retries: jittered exponential backoff. Attempt k (from 0) waits a random
// time in [b/2, b] with b = min(initial_backoff * multiplier^k,
// max_backoff), or longer if the server asked for longer
// (sluice-retry-after-ms). An operation gives up at its deadline.
struct RetryOptions {
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  double multiplier = 2.0;
  // Deadline of one attempt (one RPC). A long poll adds its wait time.
  absl::Duration attempt_timeout = absl::Seconds(5);
};

struct ClientOptions {
  // Any nodes of the cluster ("host:port"); more are learned from routes.
  // Required.
  std::vector<std::string> seeds;
  // Channel credentials; null means plaintext (insecure).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Deadline of a whole operation, retries included, when the caller gives
  // none.
  absl::Duration default_timeout = absl::Seconds(30);
  RetryOptions retry;
  // Prefix of this client's idempotent-producer ids (a random suffix is
  // added). 1-32 characters [A-Za-z0-9_-]; empty: "sluice".
  std::string producer_name;
  // Monotonic clock for deadlines, backoff and leases; null: the real one.
  // Tests inject a ManualClock.
  Clock* clock = nullptr;
  // Seed of the jitter; 0: random.
  uint64_t random_seed = 0;
};

}  // namespace sluice::client

#endif  // SLUICE_CLIENT_OPTIONS_H_
