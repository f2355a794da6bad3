#include "base/clock.h"

#include <chrono>

namespace sluice {

absl::Time SystemClock::Now() const { return absl::Now(); }

SystemClock* SystemClock::Get() {
  static SystemClock clock;
  return &clock;
}

absl::Time MonotonicClock::Now() const {
  auto since_epoch = std::chrono::steady_clock::now().time_since_epoch();
  return absl::UnixEpoch() + absl::FromChrono(since_epoch);
}

MonotonicClock* MonotonicClock::Get() {
  static MonotonicClock clock;
  return &clock;
}

absl::Time ManualClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void ManualClock::Advance(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  now_ += d;
}

void ManualClock::Set(absl::Time t) {
  absl::MutexLock lock(&mu_);
  now_ = t;
}

}  // namespace sluice
