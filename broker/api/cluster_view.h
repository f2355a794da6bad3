// ClusterView: what this node knows about the cluster, readable from any
// thread: the metadata state (queues and their placement, as applied on this
// node's metadata replica), the leader of every group hosted here, and the
// client-facing address of every node. Written by the host's loop thread
// (metadata observer, leadership callback); read by the gRPC handlers.
#ifndef SLUICE_BROKER_API_CLUSTER_VIEW_H_
#define SLUICE_BROKER_API_CLUSTER_VIEW_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "raft/types.h"
#include "sluice/internal/metadata.pb.h"

namespace sluice::broker {

class ClusterView {
 public:
  using Metadata = std::shared_ptr<const sluice::internal::MetadataState>;

  ClusterView(raft::NodeId self, std::map<uint64_t, std::string> addresses);

  raft::NodeId self() const { return self_; }
  // Every node id of the cluster, ascending.
  std::vector<uint64_t> NodeIds() const;
  // Client-facing address of `node`; empty if unknown.
  std::string Address(raft::NodeId node) const;

  void SetMetadata(const sluice::internal::MetadataState& state);
  Metadata metadata() const;
  // A copy of the queue's record, if it exists (as far as this node knows).
  std::optional<sluice::internal::QueueRecord> FindQueue(
      const std::string& name) const;

  void SetLeader(raft::GroupId group, raft::NodeId leader);
  void ForgetGroup(raft::GroupId group);
  // kNoNode if unknown (not hosted here, or no leader now).
  raft::NodeId Leader(raft::GroupId group) const;
  // Waits until every group of `groups` has a known leader, or `deadline`.
  bool AwaitLeaders(const std::vector<raft::GroupId>& groups,
                    absl::Time deadline) const;

 private:
  const raft::NodeId self_;
  const std::map<uint64_t, std::string> addresses_;
  mutable absl::Mutex mu_;
  Metadata metadata_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, raft::NodeId> leaders_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_API_CLUSTER_VIEW_H_
