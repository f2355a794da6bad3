// MutexLock and Wait for absl::Mutex / absl::CondVar that also tell
// ThreadSanitizer about the happens-before edge a lock creates. Debian's
// Abseil is not built with TSan, so TSan cannot see its Mutex and would report
// every ABSL_GUARDED_BY member as a race. In other builds these are exactly
// absl::MutexLock and CondVar::Wait. Use these (not Mutex::Await, whose
// condition other threads evaluate) wherever storage threads meet.
#ifndef SLUICE_RAFT_LEVELDB_MUTEX_LOCK_H_
#define SLUICE_RAFT_LEVELDB_MUTEX_LOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#if defined(__SANITIZE_THREAD__)
#define SLUICE_LDB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SLUICE_LDB_TSAN 1
#endif
#endif

#ifdef SLUICE_LDB_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace sluice::raft::ldb {

inline void TsanAcquire([[maybe_unused]] absl::Mutex* mu) {
#ifdef SLUICE_LDB_TSAN
  __tsan_acquire(mu);
#endif
}

inline void TsanRelease([[maybe_unused]] absl::Mutex* mu) {
#ifdef SLUICE_LDB_TSAN
  __tsan_release(mu);
#endif
}

// Holds `mu` for its scope. Any thread.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
    TsanAcquire(mu_);
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() {
    TsanRelease(mu_);
    mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  absl::Mutex* const mu_;
};

// cv->Wait(mu), releasing and reacquiring `mu` for TSan as well.
inline void Wait(absl::CondVar* cv, absl::Mutex* mu)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  TsanRelease(mu);
  cv->Wait(mu);
  TsanAcquire(mu);
}

}  // namespace sluice::raft::ldb

#endif  // SLUICE_RAFT_LEVELDB_MUTEX_LOCK_H_
