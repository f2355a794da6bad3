#include "broker/server/service_util.h"

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/partition/entry_status.h"

namespace sluice::broker {

absl::Time DeadlineOf(const grpc::ServerContextBase& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

absl::StatusOr<sluice::internal::QueueRecord> FindQueue(const ClusterView& view,
                                                        const std::string& name,
                                                        const char* field) {
  if (name.empty()) return InvalidField(field, "required");
  std::optional<sluice::internal::QueueRecord> queue = view.FindQueue(name);
  if (!queue.has_value()) {
    return WithReason(
        absl::NotFoundError(absl::StrCat("queue '", name, "' does not exist")),
        v1::ERROR_REASON_QUEUE_NOT_FOUND, field);
  }
  return *queue;
}

absl::Status AwaitQueueLeaders(const ClusterView& view, const v1::Queue& queue,
                               absl::Time deadline) {
  // Metadata replication to this node: a short poll (a rare call).
  std::optional<sluice::internal::QueueRecord> record;
  while (true) {
    record = view.FindQueue(queue.queue_name());
    if (record.has_value() && record->queue_id() == queue.queue_id()) break;
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(absl::StrCat(
          "queue '", queue.queue_name(),
          "' was created but this node has not seen it yet; retry shortly"));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  std::vector<raft::GroupId> hosted;
  for (const auto& p : record->partitions()) {
    for (uint64_t replica : p.replicas()) {
      if (replica == view.self().value()) {
        hosted.push_back(raft::GroupId(p.group_id()));
      }
    }
  }
  if (!view.AwaitLeaders(hosted, deadline)) {
    return WithReason(
        absl::UnavailableError(absl::StrCat(
            "queue '", queue.queue_name(),
            "' was created but not all its partitions have a leader yet")),
        v1::ERROR_REASON_NO_LEADER);
  }
  return absl::OkStatus();
}

}  // namespace sluice::broker
