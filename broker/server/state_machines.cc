#include "broker/server/state_machines.h"

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "broker/host/queue_partition.h"
#include "broker/meta/metadata_state_machine.h"

namespace sluice::broker {

StateMachineFactory MakeStateMachineFactory() {
  return [](raft::GroupId group, const std::string& kind, leveldb::DB* db)
             -> absl::StatusOr<std::unique_ptr<ReplicaStateMachine>> {
    if (kind == "queue") {
      auto partition = QueuePartition::Open(group, db, MonotonicClock::Get());
      if (!partition.ok()) return partition.status();
      return std::unique_ptr<ReplicaStateMachine>(std::move(*partition));
    }
    if (kind == "meta") {
      auto metadata = meta::MetadataStateMachine::Open(db);
      if (!metadata.ok()) return metadata.status();
      return std::unique_ptr<ReplicaStateMachine>(std::move(*metadata));
    }
    return absl::UnimplementedError(absl::StrCat("group ", group.value(),
                                                 ": no state machine of kind '",
                                                 kind, "' in this build"));
  };
}

}  // namespace sluice::broker
