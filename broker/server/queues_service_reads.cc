// Peek, GetQueueStats and PurgeQueue: per-partition calls, merged.
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "broker/server/grpc_status.h"
#include "broker/server/queues_service.h"
#include "broker/server/service_util.h"

namespace sluice::broker {
namespace {

using sluice::internal::ForwardRequest;
using sluice::internal::QueueRecord;

void AddCounts(const v1::MessageCounts& from, v1::MessageCounts& to) {
  to.set_visible_count(to.visible_count() + from.visible_count());
  to.set_in_flight_count(to.in_flight_count() + from.in_flight_count());
  to.set_delayed_count(to.delayed_count() + from.delayed_count());
  to.set_backlog_bytes(to.backlog_bytes() + from.backlog_bytes());
  to.set_sent_count(to.sent_count() + from.sent_count());
  to.set_received_count(to.received_count() + from.received_count());
  to.set_deleted_count(to.deleted_count() + from.deleted_count());
  to.set_dead_lettered_count(to.dead_lettered_count() +
                             from.dead_lettered_count());
  to.set_expired_count(to.expired_count() + from.expired_count());
  to.set_purged_count(to.purged_count() + from.purged_count());
  if (FromProtoDuration(from.oldest_message_age()) >
      FromProtoDuration(to.oldest_message_age())) {
    *to.mutable_oldest_message_age() = from.oldest_message_age();
  }
}

}  // namespace

// Without a partition, Peek reads the partitions in order; the page token
// is "<partition>/<that partition's own token>".
QueuesService::Reactor* QueuesService::Peek(Context* context,
                                            const v1::PeekRequest* request,
                                            v1::PeekResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  if (Refused(context, reactor,
              auth_.Check(*context, auth::Permission::kReceive,
                          request->queue_name()))) {
    return reactor;
  }
  auto fail = [&](const absl::Status& s) {
    reactor->Finish(ToGrpcStatus(s, *context, view_));
    return reactor;
  };
  absl::StatusOr<QueueRecord> queue = FindQueue(view_, request->queue_name());
  if (!queue.ok()) return fail(queue.status());
  const uint32_t count = static_cast<uint32_t>(queue->partitions_size());
  v1::PeekRequest part = *request;
  uint32_t partition = 0;
  const bool walk = !request->has_partition();
  if (!walk) {
    partition = request->partition();
    if (partition >= count) {
      return fail(
          InvalidField("partition", absl::StrCat("must be below ", count)));
    }
  } else if (!request->page_token().empty()) {
    const std::string& token = request->page_token();
    const size_t slash = token.find('/');
    if (slash == std::string::npos ||
        !absl::SimpleAtoi(token.substr(0, slash), &partition) ||
        partition >= count) {
      return fail(InvalidField("page_token", "not a token of this queue"));
    }
    part.set_page_token(token.substr(slash + 1));
    if (part.page_token().empty()) part.set_from_sequence_number(0);
  }
  part.set_partition(partition);
  ForwardRequest f;
  *f.mutable_target() = PartitionTarget(*queue, partition);
  *f.mutable_peek() = std::move(part);
  router_.Call(
      std::move(f), DeadlineOf(*context),
      [this, context, reactor, response, walk, partition,
       count](RequestRouter::Result r) {
        if (!r.response.ok()) {
          reactor->Finish(ToGrpcStatus(r.response.status(), *context, view_));
          return;
        }
        *response = std::move(*r.response->mutable_peek());
        if (walk) {
          if (!response->next_page_token().empty()) {
            response->set_next_page_token(
                absl::StrCat(partition, "/", response->next_page_token()));
          } else if (partition + 1 < count) {
            response->set_next_page_token(absl::StrCat(partition + 1, "/"));
          }
        }
        if (r.served_by != view_.self()) {
          AddLeaderHint(*context, view_, r.served_by);
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

QueuesService::Reactor* QueuesService::GetQueueStats(
    Context* context, const v1::GetQueueStatsRequest* request,
    v1::GetQueueStatsResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  if (Refused(context, reactor,
              auth_.CheckAny(*context, request->queue_name()))) {
    return reactor;
  }
  absl::StatusOr<QueueRecord> queue = FindQueue(view_, request->queue_name());
  if (!queue.ok()) {
    reactor->Finish(ToGrpcStatus(queue.status(), *context, view_));
    return reactor;
  }
  std::vector<ForwardRequest> parts =
      EveryPartition(*queue, [request](ForwardRequest& f) {
        *f.mutable_get_queue_stats() = *request;
        f.mutable_get_queue_stats()->set_include_partitions(true);
      });
  const bool include_partitions = request->include_partitions();
  auto record = std::make_shared<QueueRecord>(*queue);
  FanOut(
      std::move(parts), DeadlineOf(*context),
      [this, context, reactor, response, include_partitions,
       record](std::vector<RequestRouter::Result> results) {
        *response->mutable_read_time() = ToProtoTimestamp(absl::Now());
        v1::MessageCounts* total = response->mutable_counts();
        for (size_t p = 0; p < results.size(); ++p) {
          RequestRouter::Result& r = results[p];
          v1::PartitionStats stats;
          if (r.response.ok()) {
            const v1::GetQueueStatsResponse& part =
                r.response->get_queue_stats();
            if (part.partitions_size() > 0) stats = part.partitions(0);
            AddCounts(part.counts(), *total);
            response->set_group_count(response->group_count() +
                                      part.group_count());
            response->set_groups_in_flight_count(
                response->groups_in_flight_count() +
                part.groups_in_flight_count());
            for (const auto& g : part.groups()) *response->add_groups() = g;
            stats.set_available(true);
          } else if (absl::IsInvalidArgument(r.response.status())) {
            reactor->Finish(ToGrpcStatus(r.response.status(), *context, view_));
            return;
          }
          stats.set_partition(static_cast<uint32_t>(p));
          stats.set_group_id(
              record->partitions(static_cast<int>(p)).group_id());
          if (r.response.ok()) {
            stats.set_leader_node_id(r.served_by.value());
            stats.set_leader_address(view_.Address(r.served_by));
          }
          if (include_partitions) *response->add_partitions() = stats;
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

QueuesService::Reactor* QueuesService::PurgeQueue(
    Context* context, const v1::PurgeQueueRequest* request,
    v1::PurgeQueueResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  if (Refused(context, reactor,
              auth_.Check(*context, auth::Permission::kManage,
                          request->queue_name()))) {
    return reactor;
  }
  absl::StatusOr<QueueRecord> queue = FindQueue(view_, request->queue_name());
  if (!queue.ok()) {
    reactor->Finish(ToGrpcStatus(queue.status(), *context, view_));
    return reactor;
  }
  std::vector<ForwardRequest> parts = EveryPartition(
      *queue,
      [request](ForwardRequest& f) { *f.mutable_purge_queue() = *request; });
  FanOut(
      std::move(parts), DeadlineOf(*context),
      [this, context, reactor,
       response](std::vector<RequestRouter::Result> results) {
        for (RequestRouter::Result& r : results) {
          if (!r.response.ok()) {
            reactor->Finish(ToGrpcStatus(r.response.status(), *context, view_));
            return;
          }
          const v1::PurgeQueueResponse& part = r.response->purge_queue();
          response->set_purged_count(response->purged_count() +
                                     part.purged_count());
          if (FromProtoTimestamp(part.purge_time()) >
              FromProtoTimestamp(response->purge_time())) {
            *response->mutable_purge_time() = part.purge_time();
          }
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace sluice::broker
