// Clocks come in through this interface so that time-dependent logic is exact
// in tests. Two kinds of time are used in Sluice:
//   - monotonic time (lease and delay deadlines, timeouts): MonotonicClock;
//   - wall time (log time stamped by a leader, retention): SystemClock.
// ManualClock serves both in tests and in the simulation.
#ifndef SLUICE_BASE_CLOCK_H_
#define SLUICE_BASE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sluice {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current time. Thread-safe in every implementation.
  virtual absl::Time Now() const = 0;
};

// Wall-clock time (absl::Now). May jump; never use it for deadlines.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override;
  static SystemClock* Get();
};

// std::chrono::steady_clock as an absl::Time counted from an arbitrary epoch:
// never goes backwards, meaningless across processes.
class MonotonicClock final : public Clock {
 public:
  absl::Time Now() const override;
  static MonotonicClock* Get();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch()) : now_(start) {}

  absl::Time Now() const override;
  void Advance(absl::Duration d);
  // Sets the time; going backwards is allowed (to test clock jumps).
  void Set(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice

#endif  // SLUICE_BASE_CLOCK_H_
