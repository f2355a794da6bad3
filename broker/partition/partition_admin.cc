// PartitionOps: PurgeQueue and the redrive task of this partition.
#include <utility>

#include "absl/strings/str_format.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/partition_ops.h"
#include "broker/partition/proto_time.h"

namespace sluice::broker {
namespace {

constexpr uint32_t kDefaultRedriveRate = 500;
constexpr uint32_t kMaxRedriveRate = 10000;

absl::Status Closed() {
  return absl::UnavailableError("partition closed on this node");
}

}  // namespace

void PartitionOps::PurgeQueue(const v1::PurgeQueueRequest& /*request*/,
                              Done<v1::PurgeQueueResponse> done) {
  internal::Purge purge;  // below_sequence 0: everything sent before it
  purge.set_max_messages(options_.purge_batch);
  PurgeStep(purge, absl::InfinitePast(), 0, std::move(done));
}

// One Purge command; proposed again with the first one's watermark while the
// state machine reports more, so a large backlog goes in bounded chunks.
void PartitionOps::PurgeStep(internal::Purge purge, absl::Time started,
                             uint64_t removed,
                             Done<v1::PurgeQueueResponse> done) {
  internal::Command command = NewCommand();
  if (started == absl::InfinitePast()) {
    started = absl::FromUnixMicros(command.log_time_micros());
  }
  *command.mutable_purge() = purge;
  proposer_.Propose(
      std::move(command), [this, alive = Alive(), purge, started, removed,
                           done](absl::StatusOr<ApplyResult> r) mutable {
        if (alive.expired()) return done(Closed());
        if (!r.ok()) return done(r.status());
        if (!r->status.ok()) return done(r->status);
        removed += r->removed;
        if (r->more) {
          purge.set_below_sequence(r->purge_below.value());
          return PurgeStep(purge, started, removed, done);
        }
        v1::PurgeQueueResponse response;
        *response.mutable_purge_time() = ToProtoTimestamp(started);
        response.set_purged_count(removed);
        done(std::move(response));
      });
}

std::string PartitionOps::RedriveTaskId() const {
  return absl::StrFormat("r%016x-%d", options_.queue_id, options_.partition);
}

v1::RedriveTask PartitionOps::TaskView(const RedriveProgress& p) const {
  v1::RedriveTask task;
  task.set_task_id(RedriveTaskId());
  task.set_state(p.completed ? v1::REDRIVE_TASK_STATE_COMPLETED
                             : v1::REDRIVE_TASK_STATE_RUNNING);
  task.set_source_queue_name(queue_.attributes().name());
  task.set_destination_queue_name(p.destination);
  task.set_approximate_messages_to_move(p.started_with);
  task.set_moved_count(p.moved);
  return task;
}

void PartitionOps::StartRedrive(const v1::StartRedriveRequest& request,
                                Done<v1::StartRedriveResponse> done) {
  if (request.destination_queue_name().empty()) {
    return done(InvalidField(
        "destination_queue_name",
        "required at the partition (the node resolves an empty one)"));
  }
  if (request.max_messages_per_second() > kMaxRedriveRate) {
    return done(InvalidField(
        "max_messages_per_second",
        absl::StrFormat("%d is above %d", request.max_messages_per_second(),
                        kMaxRedriveRate)));
  }
  const uint32_t rate = request.max_messages_per_second() == 0
                            ? kDefaultRedriveRate
                            : request.max_messages_per_second();
  internal::Command command = NewCommand();
  command.mutable_start_redrive()->set_destination(
      request.destination_queue_name());
  command.mutable_start_redrive()->set_max_per_second(rate);
  const absl::Time start = absl::FromUnixMicros(command.log_time_micros());
  proposer_.Propose(std::move(command), [this, alive = Alive(), rate, start,
                                         done](absl::StatusOr<ApplyResult> r) {
    if (alive.expired()) return done(Closed());
    if (!r.ok()) return done(r.status());
    if (r->status.code() == absl::StatusCode::kFailedPrecondition) {
      return done(WithReason(r->status, v1::ERROR_REASON_REDRIVE_TASK_ACTIVE));
    }
    if (!r->status.ok()) return done(r->status);
    v1::StartRedriveResponse response;
    *response.mutable_task() = TaskView(queue_.Redrive());
    response.mutable_task()->set_max_messages_per_second(rate);
    *response.mutable_task()->mutable_start_time() = ToProtoTimestamp(start);
    done(std::move(response));
  });
}

v1::ListRedriveTasksResponse PartitionOps::ListRedriveTasks(
    const v1::ListRedriveTasksRequest& /*request*/) {
  // The state machine keeps the partition's one task (running or
  // completed) and forgets it on cancel; the node filters and pages.
  v1::ListRedriveTasksResponse response;
  const RedriveProgress progress = queue_.Redrive();
  if (progress.running || progress.completed) {
    *response.add_tasks() = TaskView(progress);
  }
  return response;
}

void PartitionOps::CancelRedrive(const v1::CancelRedriveRequest& request,
                                 Done<v1::CancelRedriveResponse> done) {
  const RedriveProgress progress = queue_.Redrive();
  if (request.task_id() != RedriveTaskId() ||
      !(progress.running || progress.completed)) {
    return done(
        WithReason(absl::NotFoundError(absl::StrFormat(
                       "task_id: no redrive task '%s'", request.task_id())),
                   v1::ERROR_REASON_REDRIVE_TASK_NOT_FOUND, "task_id"));
  }
  v1::CancelRedriveResponse response;
  *response.mutable_task() = TaskView(progress);
  if (progress.completed) return done(std::move(response));  // final already
  internal::Command command = NewCommand();
  command.mutable_cancel_redrive();
  const absl::Time end = absl::FromUnixMicros(command.log_time_micros());
  proposer_.Propose(std::move(command), [alive = Alive(), response, end,
                                         done](absl::StatusOr<ApplyResult> r) {
    if (alive.expired()) return done(Closed());
    if (!r.ok()) return done(r.status());
    if (!r->status.ok()) return done(r->status);
    v1::CancelRedriveResponse out = response;
    out.mutable_task()->set_state(v1::REDRIVE_TASK_STATE_CANCELLED);
    *out.mutable_task()->mutable_end_time() = ToProtoTimestamp(end);
    done(std::move(out));
  });
}

}  // namespace sluice::broker
