// GroupController: makes the queue partitions this node hosts match the
// metadata. For every partition placed on this node it creates the replica
// (all replicas are founding voters, so each node creates its own from the
// same placement, no conf change needed) and, on the preferred leader,
// starts an election at once; for every hosted partition whose queue was
// deleted it removes the replica and its data.
//
// Loop thread only; call OnMetadata from a task posted after each metadata
// change (not from inside Apply: creating groups mutates the host).
#ifndef SLUICE_BROKER_API_GROUP_CONTROLLER_H_
#define SLUICE_BROKER_API_GROUP_CONTROLLER_H_

#include <cstdint>
#include <set>

#include "broker/api/cluster_view.h"
#include "broker/host/node_host.h"
#include "sluice/internal/metadata.pb.h"

namespace sluice::broker {

class GroupController {
 public:
  GroupController(NodeHost& host, ClusterView& view)
      : host_(host), view_(view) {}

  void OnMetadata(const sluice::internal::MetadataState& state);

 private:
  NodeHost& host_;
  ClusterView& view_;
  std::set<uint64_t> creating_;
  std::set<uint64_t> removing_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_API_GROUP_CONTROLLER_H_
