#include "client/cpp/src/lease_keeper.h"

#include <algorithm>

namespace sluice::client::internal {

LeaseKeeper::LeaseKeeper(absl::Duration lease, absl::Duration max_extension)
    : lease_(lease), max_extension_(max_extension) {}

void LeaseKeeper::Track(const std::string& handle, absl::Time received) {
  leases_[handle] = Lease{received, received + lease_, std::nullopt};
}

void LeaseKeeper::Forget(const std::string& handle) { leases_.erase(handle); }

bool LeaseKeeper::Tracked(const std::string& handle) const {
  return leases_.contains(handle);
}

absl::Time LeaseKeeper::DueAt(const Lease& lease) const {
  if (lease.received + max_extension_ <= lease.deadline - lease_ / 3) {
    return absl::InfiniteFuture();  // extended as far as allowed
  }
  if (lease.asked.has_value()) return *lease.asked + lease_ / 6;
  return lease.deadline - lease_ / 3;
}

std::vector<std::string> LeaseKeeper::Due(absl::Time now) {
  std::vector<std::string> due;
  for (auto& [handle, lease] : leases_) {
    if (DueAt(lease) <= now) {
      lease.asked = now;
      due.push_back(handle);
    }
  }
  std::sort(due.begin(), due.end());
  return due;
}

void LeaseKeeper::Extended(const std::string& handle, absl::Time asked) {
  auto it = leases_.find(handle);
  if (it == leases_.end()) return;
  it->second.deadline = std::max(it->second.deadline, asked + lease_);
  it->second.asked.reset();
}

std::optional<absl::Time> LeaseKeeper::NextDue() const {
  std::optional<absl::Time> next;
  for (const auto& [handle, lease] : leases_) {
    const absl::Time t = DueAt(lease);
    if (t != absl::InfiniteFuture() && (!next.has_value() || t < *next)) {
      next = t;
    }
  }
  return next;
}

std::optional<absl::Time> LeaseKeeper::Deadline(
    const std::string& handle) const {
  auto it = leases_.find(handle);
  if (it == leases_.end()) return std::nullopt;
  return it->second.deadline;
}

}  // namespace sluice::client::internal
