#include "broker/api/host_proposer.h"

#include <utility>

#include "broker/host/queue_partition.h"

namespace sluice::broker {

void HostProposer::Propose(internal::Command command, Done done) {
  host_.Propose(group_, command.SerializeAsString(),
                [done = std::move(done)](absl::StatusOr<Applied> applied) {
                  if (!applied.ok()) {
                    done(applied.status());
                    return;
                  }
                  const ApplyResult* result = QueueApplyResult(applied->result);
                  if (result == nullptr) {
                    done(absl::InternalError(
                        "the partition's state machine returned no result"));
                    return;
                  }
                  done(*result);
                });
}

}  // namespace sluice::broker
