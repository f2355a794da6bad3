// Where a message goes: the partition its routing key maps to (the same
// function as the server, Queue.partition_routing = XXH64) and which node
// leads that partition, as far as this client knows.
#ifndef SLUICE_CLIENT_CPP_SRC_ROUTING_H_
#define SLUICE_CLIENT_CPP_SRC_ROUTING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "sluice/v1/queues.pb.h"

namespace sluice::client::internal {

// A queue's shape and its partitions' leaders.
struct QueueRoute {
  std::string name;
  uint64_t queue_id = 0;
  bool fifo = false;
  uint32_t partitions = 1;
  uint32_t max_message_size = 0;     // 0: unknown
  std::vector<std::string> leaders;  // per partition; "" if unknown
};

QueueRoute RouteFrom(const v1::GetQueueResponse& response);

// The partition the server requires for an entry with this group and dedup
// id (FIFO: by group id; standard: by dedup id), or nullopt if the entry has
// no routing key and may go anywhere.
std::optional<uint32_t> RoutedPartition(bool fifo, const std::string& group_id,
                                        const std::string& dedup_id,
                                        uint32_t partitions);

// Routes of every queue this client used, shared by its threads.
class RouteTable {
 public:
  std::optional<QueueRoute> Find(const std::string& queue) const;
  void Put(QueueRoute route);
  // Records a leader learned from a hint; ignored for unknown queues.
  void SetLeader(const std::string& queue, uint32_t partition,
                 const std::string& address);
  void Forget(const std::string& queue);
  // Every leader address seen, for spreading calls that go anywhere.
  std::vector<std::string> KnownAddresses() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, QueueRoute> routes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::client::internal

#endif  // SLUICE_CLIENT_CPP_SRC_ROUTING_H_
