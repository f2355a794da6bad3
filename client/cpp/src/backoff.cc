#include "client/cpp/src/backoff.h"

#include <algorithm>
#include <cmath>

namespace sluice::client::internal {

Backoff::Backoff(const RetryOptions& options, uint64_t seed)
    : options_(options), random_(seed) {}

absl::Duration Backoff::Next(std::optional<absl::Duration> server_hint) {
  const double growth =
      std::pow(std::max(options_.multiplier, 1.0), std::min(attempt_, 62));
  ++attempt_;
  absl::Duration bound = options_.initial_backoff * growth;
  if (bound > options_.max_backoff || bound < absl::ZeroDuration()) {
    bound = options_.max_backoff;
  }
  // "Equal jitter": never less than half the bound, so a retry storm thins
  // out, and never in lock step with other clients.
  const absl::Duration wait = bound / 2 + (bound / 2) * random_.UnitDouble();
  return server_hint.has_value() ? std::max(wait, *server_hint) : wait;
}

}  // namespace sluice::client::internal
