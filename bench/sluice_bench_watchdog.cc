#include "bench/sluice_bench_watchdog.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/sluice_bench_common.h"

namespace sluice::bench {

Watchdog& Watchdog::Get() {
  static Watchdog* watchdog = new Watchdog();
  return *watchdog;
}

void Watchdog::Start(double timeout_seconds) {
  const int64_t deadline_ns = NowNs() + SecondsToNs(timeout_seconds);
  soft_deadline_ns_ =
      deadline_ns -
      std::min<int64_t>(5000000000, SecondsToNs(timeout_seconds) / 10);
  thread_ = std::thread([this, deadline_ns] { Run(deadline_ns); });
}

void Watchdog::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int Watchdog::Register(std::string what, std::function<void()> action) {
  absl::MutexLock lock(&mu_);
  const int id = next_id_++;
  actions_.emplace(id, std::make_pair(std::move(what), std::move(action)));
  return id;
}

void Watchdog::Unregister(int id) {
  absl::MutexLock lock(&mu_);
  actions_.erase(id);
}

void Watchdog::Run(int64_t deadline_ns) {
  std::vector<std::pair<std::string, std::function<void()>>> actions;
  {
    absl::MutexLock lock(&mu_);
    const absl::Duration left = absl::Nanoseconds(deadline_ns - NowNs());
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped_), left)) return;
    for (auto it = actions_.rbegin(); it != actions_.rend(); ++it) {
      actions.push_back(it->second);
    }
  }
  Log("HARD TIMEOUT (--timeout): giving up");
  for (auto& [what, action] : actions) {
    Log(absl::StrCat("hard timeout: ", what));
    action();
  }
  std::cout.flush();
  std::cerr.flush();
  _exit(3);
}

}  // namespace sluice::bench
