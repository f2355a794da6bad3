// The hard time bound of a sluice-bench run: if the run is still going after
// --timeout seconds, the watchdog runs the registered emergency actions
// (restart a killed node, delete the queue), each bounded by its own RPC
// deadlines, and exits the process with status 3. Thread-safe; one per
// process (Watchdog::Get()).
#ifndef SLUICE_BENCH_SLUICE_BENCH_WATCHDOG_H_
#define SLUICE_BENCH_SLUICE_BENCH_WATCHDOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace sluice::bench {

class Watchdog {
 public:
  static Watchdog& Get();

  // Starts the timer; call once.
  void Start(double timeout_seconds);
  // Stops the timer (the run ended by itself).
  void Stop();
  // A little before the hard deadline: scenarios stop waiting here, so they
  // can still report what they measured.
  int64_t SoftDeadlineNs() const { return soft_deadline_ns_; }

  // Registers an action for the timeout; returns its id. Actions run in
  // reverse order of registration (last registered first).
  int Register(std::string what, std::function<void()> action);
  void Unregister(int id);

 private:
  void Run(int64_t deadline_ns);

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int, std::pair<std::string, std::function<void()>>> actions_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;
  int64_t soft_deadline_ns_ = 0;  // set by Start, before any reader runs
};

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_SLUICE_BENCH_WATCHDOG_H_
