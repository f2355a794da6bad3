#include "broker/api/group_controller.h"

#include <map>
#include <utility>
#include <vector>

#include "base/logging.h"
#include "broker/host/queue_partition.h"

namespace sluice::broker {

void GroupController::OnMetadata(const sluice::internal::MetadataState& state) {
  const uint64_t self = view_.self().value();
  std::map<uint64_t, const sluice::internal::PartitionPlacement*> wanted;
  for (const auto& q : state.queues()) {
    for (const auto& p : q.partitions()) {
      for (uint64_t replica : p.replicas()) {
        if (replica == self) wanted[p.group_id()] = &p;
      }
    }
  }
  std::set<uint64_t> hosted;
  for (const GroupStatus& g : host_.Status()) {
    if (g.kind == kQueuePartitionKind) hosted.insert(g.group.value());
  }
  for (const auto& [id, placement] : wanted) {
    if (hosted.count(id) > 0 || creating_.count(id) > 0) continue;
    creating_.insert(id);
    GroupSpec spec{raft::GroupId(id), kQueuePartitionKind, {}};
    for (uint64_t replica : placement->replicas()) {
      spec.initial_voters.push_back(raft::NodeId(replica));
    }
    const bool campaign = placement->preferred_leader() == self;
    host_.CreateGroup(std::move(spec), [this, id, campaign](absl::Status s) {
      creating_.erase(id);
      if (!s.ok()) {
        // FAILED_PRECONDITION: this node held the group before (it was
        // removed here); ids are never reused, so nothing to do.
        SLUICE_LOG(WARNING) << "group " << id << ": cannot create: " << s;
        return;
      }
      SLUICE_LOG(INFO) << "created replica of group " << id;
      if (campaign) host_.Campaign(raft::GroupId(id));
    });
  }
  for (uint64_t id : hosted) {
    if (wanted.count(id) > 0 || removing_.count(id) > 0) continue;
    removing_.insert(id);
    host_.RemoveGroup(raft::GroupId(id), [this, id](absl::Status s) {
      removing_.erase(id);
      view_.ForgetGroup(raft::GroupId(id));
      if (s.ok()) {
        SLUICE_LOG(INFO) << "removed replica of group " << id;
      } else {
        SLUICE_LOG(WARNING) << "group " << id << ": cannot remove: " << s;
      }
    });
  }
}

}  // namespace sluice::broker
