// Jittered exponential backoff (sluice/client/options.h, RetryOptions).
// Not thread-safe; one per retry loop.
#ifndef SLUICE_CLIENT_CPP_SRC_BACKOFF_H_
#define SLUICE_CLIENT_CPP_SRC_BACKOFF_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"
#include "base/random.h"
#include "sluice/client/options.h"

namespace sluice::client::internal {

class Backoff {
 public:
  Backoff(const RetryOptions& options, uint64_t seed);

  // The wait before the next attempt; at least `server_hint` if given.
  absl::Duration Next(std::optional<absl::Duration> server_hint = {});
  void Reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  RetryOptions options_;
  Random random_;
  int attempt_ = 0;
};

}  // namespace sluice::client::internal

#endif  // SLUICE_CLIENT_CPP_SRC_BACKOFF_H_
