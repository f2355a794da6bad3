#include "raft/core/peer_liveness.h"

#include <algorithm>

namespace sluice::raft {

bool PeerLiveness::Heard(NodeId peer) {
  last_heard_[peer] = now_;
  return down_.erase(peer) > 0;
}

PeerLiveness::TickResult PeerLiveness::Tick(
    const absl::flat_hash_set<NodeId>& members) {
  ++now_;
  TickResult result;
  absl::erase_if(last_heard_, [&](const auto& entry) {
    return !members.contains(entry.first);
  });
  absl::erase_if(down_, [&](NodeId p) { return !members.contains(p); });
  for (NodeId peer : members) {
    auto [it, fresh] = last_heard_.try_emplace(peer, now_);
    if (!fresh && now_ - it->second >= down_after_ticks_ &&
        down_.insert(peer).second) {
      result.went_down.push_back(peer);
    }
    if (!sent_this_tick_.contains(peer)) result.need_keepalive.push_back(peer);
  }
  sent_this_tick_.clear();
  // Deterministic order for callers (and tests).
  std::sort(result.went_down.begin(), result.went_down.end());
  std::sort(result.need_keepalive.begin(), result.need_keepalive.end());
  return result;
}

}  // namespace sluice::raft
