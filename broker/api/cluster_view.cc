#include "broker/api/cluster_view.h"

#include <utility>

namespace sluice::broker {

ClusterView::ClusterView(raft::NodeId self,
                         std::map<uint64_t, std::string> addresses)
    : self_(self),
      addresses_(std::move(addresses)),
      metadata_(std::make_shared<sluice::internal::MetadataState>()) {}

std::vector<uint64_t> ClusterView::NodeIds() const {
  std::vector<uint64_t> ids;
  for (const auto& [id, address] : addresses_) ids.push_back(id);
  return ids;
}

std::string ClusterView::Address(raft::NodeId node) const {
  auto it = addresses_.find(node.value());
  return it == addresses_.end() ? std::string() : it->second;
}

void ClusterView::SetMetadata(const sluice::internal::MetadataState& state) {
  auto copy = std::make_shared<const sluice::internal::MetadataState>(state);
  absl::MutexLock lock(&mu_);
  metadata_ = std::move(copy);
}

ClusterView::Metadata ClusterView::metadata() const {
  absl::MutexLock lock(&mu_);
  return metadata_;
}

std::optional<sluice::internal::QueueRecord> ClusterView::FindQueue(
    const std::string& name) const {
  Metadata m = metadata();
  for (const auto& q : m->queues()) {
    if (q.name() == name) return q;
  }
  return std::nullopt;
}

void ClusterView::SetLeader(raft::GroupId group, raft::NodeId leader) {
  absl::MutexLock lock(&mu_);
  leaders_[group.value()] = leader;
}

void ClusterView::ForgetGroup(raft::GroupId group) {
  absl::MutexLock lock(&mu_);
  leaders_.erase(group.value());
}

raft::NodeId ClusterView::Leader(raft::GroupId group) const {
  absl::MutexLock lock(&mu_);
  auto it = leaders_.find(group.value());
  return it == leaders_.end() ? raft::kNoNode : it->second;
}

bool ClusterView::AwaitLeaders(const std::vector<raft::GroupId>& groups,
                               absl::Time deadline) const {
  auto all_known = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (raft::GroupId g : groups) {
      auto it = leaders_.find(g.value());
      if (it == leaders_.end() || it->second == raft::kNoNode) return false;
    }
    return true;
  };
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(
      absl::Condition(&all_known, &decltype(all_known)::operator()), deadline);
}

}  // namespace sluice::broker
