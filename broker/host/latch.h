// Latch: a one-shot event that threads wait for, like absl::Notification,
// but visible to ThreadSanitizer. Debian's Abseil is not built with TSan, so
// TSan cannot see absl::Mutex (nor absl::Notification, built on it) and
// would report every hand-over through them as a race; the lock helpers of
// raft/leveldb/mutex_lock.h add the happens-before edges. Any thread.
#ifndef SLUICE_BROKER_HOST_LATCH_H_
#define SLUICE_BROKER_HOST_LATCH_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "raft/leveldb/mutex_lock.h"

namespace sluice::broker {

class Latch {
 public:
  void Notify() {
    raft::ldb::MutexLock lock(&mu_);
    done_ = true;
    cv_.SignalAll();
  }
  bool HasBeenNotified() const {
    raft::ldb::MutexLock lock(&mu_);
    return done_;
  }
  void Wait() {
    raft::ldb::MutexLock lock(&mu_);
    while (!done_) raft::ldb::Wait(&cv_, &mu_);
  }
  // True once notified; false if `timeout` passed first.
  bool WaitWithTimeout(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    raft::ldb::MutexLock lock(&mu_);
    while (!done_) {
      raft::ldb::TsanRelease(&mu_);
      const bool timed_out = cv_.WaitWithDeadline(&mu_, deadline);
      raft::ldb::TsanAcquire(&mu_);
      if (timed_out) return done_;
    }
    return true;
  }

 private:
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_LATCH_H_
