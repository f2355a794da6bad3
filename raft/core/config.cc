#include "raft/core/config.h"

namespace sluice::raft {

absl::Status Config::Validate() const {
  if (id == kNoNode) return absl::InvalidArgumentError("config: id is 0");
  if (heartbeat_tick <= 0) {
    return absl::InvalidArgumentError("config: heartbeat_tick must be > 0");
  }
  if (election_tick <= heartbeat_tick) {
    return absl::InvalidArgumentError(
        "config: election_tick must be > heartbeat_tick");
  }
  if (random == nullptr) {
    return absl::InvalidArgumentError("config: random is required");
  }
  if (max_inflight_msgs == 0) {
    return absl::InvalidArgumentError("config: max_inflight_msgs must be > 0");
  }
  return absl::OkStatus();
}

}  // namespace sluice::raft
