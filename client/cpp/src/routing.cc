#include "client/cpp/src/routing.h"

#include <algorithm>

#include "base/xxh64.h"

namespace sluice::client::internal {

QueueRoute RouteFrom(const v1::GetQueueResponse& response) {
  QueueRoute route;
  const v1::Queue& queue = response.queue();
  route.name = queue.queue_name();
  route.queue_id = queue.queue_id();
  route.fifo = queue.type() == v1::QUEUE_TYPE_FIFO;
  route.partitions = std::max<uint32_t>(
      1, queue.attributes().has_partition_count()
             ? queue.attributes().partition_count()
             : static_cast<uint32_t>(response.partition_routes_size()));
  if (queue.attributes().has_max_message_size_bytes()) {
    route.max_message_size = queue.attributes().max_message_size_bytes();
  }
  route.leaders.assign(route.partitions, "");
  for (const v1::PartitionRoute& r : response.partition_routes()) {
    if (r.partition() < route.partitions) {
      route.leaders[r.partition()] = r.leader_address();
    }
  }
  return route;
}

std::optional<uint32_t> RoutedPartition(bool fifo, const std::string& group_id,
                                        const std::string& dedup_id,
                                        uint32_t partitions) {
  const std::string& key = fifo ? group_id : dedup_id;
  if (key.empty() || partitions == 0) return std::nullopt;
  return static_cast<uint32_t>(Xxh64(key) % partitions);
}

std::optional<QueueRoute> RouteTable::Find(const std::string& queue) const {
  absl::MutexLock lock(&mu_);
  auto it = routes_.find(queue);
  if (it == routes_.end()) return std::nullopt;
  return it->second;
}

void RouteTable::Put(QueueRoute route) {
  absl::MutexLock lock(&mu_);
  std::string name = route.name;
  routes_[name] = std::move(route);
}

void RouteTable::SetLeader(const std::string& queue, uint32_t partition,
                           const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto it = routes_.find(queue);
  if (it == routes_.end() || partition >= it->second.leaders.size()) return;
  it->second.leaders[partition] = address;
}

void RouteTable::Forget(const std::string& queue) {
  absl::MutexLock lock(&mu_);
  routes_.erase(queue);
}

std::vector<std::string> RouteTable::KnownAddresses() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [name, route] : routes_) {
    for (const std::string& a : route.leaders) {
      if (!a.empty() && std::find(out.begin(), out.end(), a) == out.end()) {
        out.push_back(a);
      }
    }
  }
  return out;
}

}  // namespace sluice::client::internal
