// Redrive RPCs. A queue's redrive task is one task per partition in the
// replicated state (PartitionOps); the node shows them as one task per
// source queue, id "r<queue id, 16 hex digits>", started, listed and
// cancelled on every partition at once.
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "broker/server/grpc_status.h"
#include "broker/server/queues_service.h"
#include "broker/server/service_util.h"

namespace sluice::broker {
namespace {

using sluice::internal::ForwardRequest;
using sluice::internal::QueueRecord;

std::string QueueTaskId(uint64_t queue_id) {
  return absl::StrFormat("r%016x", queue_id);
}

// The queue-level view of the partitions' tasks (absent ones skipped).
v1::RedriveTask Merge(const QueueRecord& queue,
                      const std::vector<v1::RedriveTask>& parts) {
  v1::RedriveTask task;
  task.set_task_id(QueueTaskId(queue.queue_id()));
  task.set_source_queue_name(queue.name());
  bool running = false;
  absl::Time start = absl::InfiniteFuture();
  for (const v1::RedriveTask& p : parts) {
    running |= p.state() == v1::REDRIVE_TASK_STATE_RUNNING ||
               p.state() == v1::REDRIVE_TASK_STATE_CANCELLING;
    task.set_destination_queue_name(p.destination_queue_name());
    task.set_max_messages_per_second(task.max_messages_per_second() +
                                     p.max_messages_per_second());
    task.set_approximate_messages_to_move(task.approximate_messages_to_move() +
                                          p.approximate_messages_to_move());
    task.set_moved_count(task.moved_count() + p.moved_count());
    task.set_skipped_count(task.skipped_count() + p.skipped_count());
    if (p.has_start_time()) {
      start = std::min(start, FromProtoTimestamp(p.start_time()));
    }
  }
  task.set_state(running ? v1::REDRIVE_TASK_STATE_RUNNING
                         : v1::REDRIVE_TASK_STATE_COMPLETED);
  if (start != absl::InfiniteFuture()) {
    *task.mutable_start_time() = ToProtoTimestamp(start);
  }
  return task;
}

}  // namespace

QueuesService::Reactor* QueuesService::StartRedrive(
    Context* context, const v1::StartRedriveRequest* request,
    v1::StartRedriveResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  auto fail = [&](const absl::Status& s) {
    reactor->Finish(ToGrpcStatus(s, *context, view_));
    return reactor;
  };
  // Moving messages empties the source and fills the destination (each
  // message's original queue when none is named: it chose this DLQ).
  if (absl::Status s = auth_.Check(*context, auth::Permission::kManage,
                                   request->source_queue_name());
      !s.ok()) {
    return fail(s);
  }
  if (!request->destination_queue_name().empty()) {
    if (absl::Status s = auth_.Check(*context, auth::Permission::kManage,
                                     request->destination_queue_name());
        !s.ok()) {
      return fail(s);
    }
  }
  absl::StatusOr<QueueRecord> source =
      FindQueue(view_, request->source_queue_name(), "source_queue_name");
  if (!source.ok()) return fail(source.status());
  if (request->max_messages_per_second() > 10000) {
    return fail(InvalidField("max_messages_per_second", "at most 10000"));
  }
  std::string destination = request->destination_queue_name();
  if (destination.empty()) {
    // Back to where the messages came from: the queue(s) using this one as
    // their dead-letter queue. Per-message destinations are not kept by the
    // partition task, so exactly one such queue is needed.
    std::vector<std::string> users;
    for (const QueueRecord& q : view_.metadata()->queues()) {
      if (q.public_attributes().redrive_policy().dead_letter_queue_name() ==
          source->name()) {
        users.push_back(q.name());
      }
    }
    if (users.size() != 1) {
      return fail(
          WithReason(absl::FailedPreconditionError(absl::StrCat(
                         "destination_queue_name: '", source->name(),
                         "' is the ", "dead-letter queue of ", users.size(),
                         " queues; name the destination")),
                     v1::ERROR_REASON_UNSPECIFIED, "destination_queue_name"));
    }
    destination = users[0];
  }
  absl::StatusOr<QueueRecord> target =
      FindQueue(view_, destination, "destination_queue_name");
  if (!target.ok()) return fail(target.status());
  if (target->attributes().fifo() != source->attributes().fifo()) {
    return fail(InvalidField("destination_queue_name",
                             "must have the source queue's type"));
  }
  const uint32_t rate = request->max_messages_per_second() == 0
                            ? 500
                            : request->max_messages_per_second();
  const uint32_t count = static_cast<uint32_t>(source->partitions_size());
  std::vector<ForwardRequest> parts =
      EveryPartition(*source, [&](ForwardRequest& f) {
        v1::StartRedriveRequest* part = f.mutable_start_redrive();
        *part = *request;
        part->set_destination_queue_name(destination);
        part->set_max_messages_per_second(std::max<uint32_t>(1, rate / count));
      });
  auto record = std::make_shared<QueueRecord>(*source);
  FanOut(
      std::move(parts), DeadlineOf(*context),
      [this, context, reactor, response,
       record](std::vector<RequestRouter::Result> results) {
        std::vector<v1::RedriveTask> tasks;
        for (RequestRouter::Result& r : results) {
          if (!r.response.ok()) {
            reactor->Finish(ToGrpcStatus(r.response.status(), *context, view_));
            return;
          }
          tasks.push_back(r.response->start_redrive().task());
        }
        *response->mutable_task() = Merge(*record, tasks);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

QueuesService::Reactor* QueuesService::ListRedriveTasks(
    Context* context, const v1::ListRedriveTasksRequest* request,
    v1::ListRedriveTasksResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  auto fail = [&](const absl::Status& s) {
    reactor->Finish(ToGrpcStatus(s, *context, view_));
    return reactor;
  };
  absl::StatusOr<std::string> principal = auth_.Authenticate(*context);
  if (!principal.ok()) return fail(principal.status());
  if (!request->source_queue_name().empty()) {
    if (absl::Status s =
            auth_.CheckPrincipal(*principal, auth::Permission::kManage,
                                 request->source_queue_name());
        !s.ok()) {
      return fail(s);
    }
  }
  if (request->page_size() > 1000) {
    return fail(InvalidField("page_size", "must be at most 1000"));
  }
  size_t offset = 0;
  if (!request->page_token().empty() &&
      !absl::SimpleAtoi(request->page_token(), &offset)) {
    return fail(InvalidField("page_token", "not a token of this call"));
  }
  std::vector<QueueRecord> queues;
  if (!request->source_queue_name().empty()) {
    absl::StatusOr<QueueRecord> q =
        FindQueue(view_, request->source_queue_name(), "source_queue_name");
    if (!q.ok()) return fail(q.status());
    queues.push_back(*q);
  } else {
    for (const QueueRecord& q : view_.metadata()->queues()) {
      if (auth_.MayManage(*principal, q.name())) queues.push_back(q);
    }
  }
  std::vector<ForwardRequest> parts;
  auto owners = std::make_shared<std::vector<size_t>>();  // part -> queue
  for (size_t i = 0; i < queues.size(); ++i) {
    for (ForwardRequest& f : EveryPartition(queues[i], [](ForwardRequest& f) {
           f.mutable_list_redrive_tasks();
         })) {
      parts.push_back(std::move(f));
      owners->push_back(i);
    }
  }
  const size_t page = request->page_size() == 0
                          ? 50
                          : static_cast<size_t>(request->page_size());
  auto shared = std::make_shared<std::vector<QueueRecord>>(std::move(queues));
  FanOut(std::move(parts), DeadlineOf(*context),
         [this, context, reactor, response, shared, owners, offset,
          page](std::vector<RequestRouter::Result> results) {
           std::vector<std::vector<v1::RedriveTask>> per_queue(shared->size());
           for (size_t i = 0; i < results.size(); ++i) {
             if (!results[i].response.ok()) {
               reactor->Finish(
                   ToGrpcStatus(results[i].response.status(), *context, view_));
               return;
             }
             for (const auto& t :
                  results[i].response->list_redrive_tasks().tasks()) {
               per_queue[(*owners)[i]].push_back(t);
             }
           }
           std::vector<v1::RedriveTask> tasks;
           for (size_t q = 0; q < shared->size(); ++q) {
             if (!per_queue[q].empty()) {
               tasks.push_back(Merge((*shared)[q], per_queue[q]));
             }
           }
           std::stable_sort(tasks.begin(), tasks.end(),
                            [](const auto& a, const auto& b) {
                              return FromProtoTimestamp(a.start_time()) >
                                     FromProtoTimestamp(b.start_time());
                            });
           for (size_t i = offset; i < tasks.size() && i < offset + page; ++i) {
             *response->add_tasks() = tasks[i];
           }
           if (offset + page < tasks.size()) {
             response->set_next_page_token(absl::StrCat(offset + page));
           }
           reactor->Finish(grpc::Status::OK);
         });
  return reactor;
}

QueuesService::Reactor* QueuesService::CancelRedrive(
    Context* context, const v1::CancelRedriveRequest* request,
    v1::CancelRedriveResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  absl::StatusOr<std::string> principal = auth_.Authenticate(*context);
  if (Refused(context, reactor, principal.status())) return reactor;
  const std::string& id = request->task_id();
  std::optional<QueueRecord> queue;
  for (const QueueRecord& q : view_.metadata()->queues()) {
    if (QueueTaskId(q.queue_id()) == id) queue = q;
  }
  if (!queue.has_value()) {
    reactor->Finish(ToGrpcStatus(
        WithReason(absl::NotFoundError(
                       absl::StrCat("task_id: no redrive task '", id, "'")),
                   v1::ERROR_REASON_REDRIVE_TASK_NOT_FOUND, "task_id"),
        *context, view_));
    return reactor;
  }
  if (Refused(context, reactor,
              auth_.CheckPrincipal(*principal, auth::Permission::kManage,
                                   queue->name()))) {
    return reactor;
  }
  std::vector<ForwardRequest> parts =
      EveryPartition(*queue, [&](ForwardRequest& f) {
        f.mutable_cancel_redrive()->set_task_id(
            absl::StrCat(id, "-", f.target().partition()));
      });
  auto record = std::make_shared<QueueRecord>(*queue);
  FanOut(
      std::move(parts), DeadlineOf(*context),
      [this, context, reactor, response,
       record](std::vector<RequestRouter::Result> results) {
        std::vector<v1::RedriveTask> tasks;
        for (RequestRouter::Result& r : results) {
          if (r.response.ok()) {
            tasks.push_back(r.response->cancel_redrive().task());
          } else if (!absl::IsNotFound(r.response.status())) {
            reactor->Finish(ToGrpcStatus(r.response.status(), *context, view_));
            return;
          }
        }
        if (tasks.empty()) {
          reactor->Finish(ToGrpcStatus(
              WithReason(absl::NotFoundError("task_id: no such task"),
                         v1::ERROR_REASON_REDRIVE_TASK_NOT_FOUND, "task_id"),
              *context, view_));
          return;
        }
        *response->mutable_task() = Merge(*record, tasks);
        bool cancelling = false;
        for (const auto& t : tasks) {
          cancelling |= t.state() == v1::REDRIVE_TASK_STATE_CANCELLING ||
                        t.state() == v1::REDRIVE_TASK_STATE_CANCELLED;
        }
        if (cancelling) {
          response->mutable_task()->set_state(v1::REDRIVE_TASK_STATE_CANCELLED);
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace sluice::broker
