#include "raft/core/read_only.h"

namespace sluice::raft {

bool ReadOnly::Add(std::string ctx, Index index, NodeId from) {
  if (pending_.contains(ctx)) return false;
  queue_.push_back(ctx);
  pending_.emplace(ctx, Pending{Request{ctx, index, from}, {}});
  return true;
}

const absl::btree_set<NodeId>* ReadOnly::Ack(const std::string& ctx,
                                             NodeId from) {
  auto it = pending_.find(ctx);
  if (it == pending_.end()) return nullptr;
  it->second.acks.insert(from);
  return &it->second.acks;
}

std::vector<ReadOnly::Request> ReadOnly::ReleaseThrough(
    const std::string& ctx) {
  std::vector<Request> out;
  if (!pending_.contains(ctx)) return out;
  while (!queue_.empty()) {
    std::string front = std::move(queue_.front());
    queue_.pop_front();
    auto it = pending_.find(front);
    out.push_back(std::move(it->second.request));
    pending_.erase(it);
    if (front == ctx) break;
  }
  return out;
}

std::string ReadOnly::LastPendingCtx() const {
  return queue_.empty() ? std::string() : queue_.back();
}

void ReadOnly::Clear() {
  pending_.clear();
  queue_.clear();
}

}  // namespace sluice::raft
