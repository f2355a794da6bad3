#include "broker/api/local_executor.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/host/host_errors.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"

namespace sluice::broker {
namespace {

using sluice::internal::ForwardRequest;
using sluice::internal::ForwardResponse;

raft::GroupId group_of(const ForwardRequest& request) {
  return raft::GroupId(request.target().group_id());
}

// Wraps a typed result into the response envelope.
template <typename T, typename Setter>
std::function<void(absl::StatusOr<T>)> Answer(LocalExecutor::Done done,
                                              Setter set) {
  return [done = std::move(done), set](absl::StatusOr<T> result) {
    if (!result.ok()) return done(result.status());
    ForwardResponse out;
    *set(out) = std::move(*result);
    done(std::move(out));
  };
}

}  // namespace

absl::Status LocalExecutor::CheckBacklog(const PartitionLeaders::Lead& lead,
                                         const v1::SendRequest& request) {
  const v1::QueueAttributes& attributes = lead.record.public_attributes();
  const uint64_t max_messages = attributes.max_backlog_messages();
  const uint64_t max_bytes = attributes.max_backlog_bytes();
  if (max_messages == 0 && max_bytes == 0) return absl::OkStatus();
  const uint64_t partitions = lead.partition_count;
  const QueueStats stats = lead.queue->Stats(absl::Now());
  auto exceeded = [&](const char* field, uint64_t limit, uint64_t stored,
                      const char* unit) {
    const uint64_t per_partition = (limit + partitions - 1) / partitions;
    return WithRetryAfter(
        WithReason(absl::ResourceExhaustedError(absl::StrCat(
                       "queue '", lead.record.name(), "' partition ",
                       lead.partition, " holds ", stored, " ", unit,
                       "; its backlog limit is ", per_partition, " (", field,
                       " ", limit, " over ", partitions, " partitions)")),
                   v1::ERROR_REASON_BACKLOG_LIMIT_EXCEEDED),
        absl::Seconds(1));
  };
  if (max_messages != 0) {
    const uint64_t stored = stats.visible + stats.in_flight + stats.delayed;
    if (stored + static_cast<uint64_t>(request.entries_size()) >
        (max_messages + partitions - 1) / partitions) {
      return exceeded("max_backlog_messages", max_messages, stored, "messages");
    }
  }
  if (max_bytes != 0) {
    uint64_t incoming = 0;
    for (const v1::SendEntry& e : request.entries())
      incoming += e.body().size();
    if (stats.stored_bytes + incoming >
        (max_bytes + partitions - 1) / partitions) {
      return exceeded("max_backlog_bytes", max_bytes, stats.stored_bytes,
                      "bytes of message bodies");
    }
  }
  return absl::OkStatus();
}

void LocalExecutor::Execute(const ForwardRequest& request,
                            absl::Duration budget, Done done,
                            std::shared_ptr<std::atomic<bool>> cancelled) {
  const raft::GroupId group(request.target().group_id());
  if (leaders_.Starting(group)) {
    // A new leader commits the queue's attributes first (milliseconds).
    return leaders_.WhenReady(group, [this, request, budget, done, cancelled] {
      if (leaders_.Starting(group_of(request))) {
        return done(NotProposed(
            absl::UnavailableError("partition leader is starting")));
      }
      Execute(request, budget, done, cancelled);
    });
  }
  absl::StatusOr<PartitionLeaders::Lead*> found = leaders_.Find(group);
  if (!found.ok()) return done(found.status());
  PartitionLeaders::Lead& lead = **found;
  if (request.target().queue_id() != 0 &&
      request.target().queue_id() != lead.queue_id) {
    return done(WithReason(
        absl::NotFoundError(absl::StrCat(
            "queue id ", request.target().queue_id(),
            " no longer exists (the queue was deleted or recreated)")),
        v1::ERROR_REASON_QUEUE_NOT_FOUND));
  }
  PartitionOps& ops = *lead.ops;
  switch (request.request_case()) {
    case ForwardRequest::kSend: {
      if (absl::Status s = CheckBacklog(lead, request.send()); !s.ok()) {
        return done(s);
      }
      auto answer = Answer<v1::SendResponse>(
          std::move(done), [](ForwardResponse& r) { return r.mutable_send(); });
      return ops.Send(request.send(), [this, group, answer](
                                          absl::StatusOr<v1::SendResponse> r) {
        if (r.ok()) leaders_.Notify(group);
        answer(std::move(r));
      });
    }
    case ForwardRequest::kReceive: {
      const v1::ReceiveRequest& receive = request.receive();
      const absl::Duration wait = receive.has_wait_time()
                                      ? FromProtoDuration(receive.wait_time())
                                      : absl::ZeroDuration();
      return Receive(group, receive, clock_->Now() + std::min(wait, budget),
                     std::move(done), std::move(cancelled));
    }
    case ForwardRequest::kDeleteMessages:
      return ops.Delete(
          request.delete_messages(),
          Answer<v1::DeleteResponse>(std::move(done), [](ForwardResponse& r) {
            return r.mutable_delete_messages();
          }));
    case ForwardRequest::kChangeVisibility: {
      auto answer = Answer<v1::ChangeVisibilityResponse>(
          std::move(done),
          [](ForwardResponse& r) { return r.mutable_change_visibility(); });
      return ops.ChangeVisibility(
          request.change_visibility(),
          [this, group,
           answer](absl::StatusOr<v1::ChangeVisibilityResponse> r) {
            if (r.ok()) leaders_.Notify(group);
            answer(std::move(r));
          },
          {}, request.undo_receive());
    }
    case ForwardRequest::kPeek:
      return Answer<v1::PeekResponse>(std::move(done), [](ForwardResponse& r) {
        return r.mutable_peek();
      })(ops.Peek(request.peek()));
    case ForwardRequest::kPurgeQueue:
      return ops.PurgeQueue(request.purge_queue(),
                            Answer<v1::PurgeQueueResponse>(
                                std::move(done), [](ForwardResponse& r) {
                                  return r.mutable_purge_queue();
                                }));
    case ForwardRequest::kGetQueueStats:
      return Answer<v1::GetQueueStatsResponse>(
          std::move(done), [](ForwardResponse& r) {
            return r.mutable_get_queue_stats();
          })(ops.GetQueueStats(request.get_queue_stats()));
    case ForwardRequest::kStartRedrive:
      return ops.StartRedrive(request.start_redrive(),
                              Answer<v1::StartRedriveResponse>(
                                  std::move(done), [](ForwardResponse& r) {
                                    return r.mutable_start_redrive();
                                  }));
    case ForwardRequest::kListRedriveTasks: {
      ForwardResponse out;
      *out.mutable_list_redrive_tasks() =
          ops.ListRedriveTasks(request.list_redrive_tasks());
      return done(std::move(out));
    }
    case ForwardRequest::kCancelRedrive:
      return ops.CancelRedrive(request.cancel_redrive(),
                               Answer<v1::CancelRedriveResponse>(
                                   std::move(done), [](ForwardResponse& r) {
                                     return r.mutable_cancel_redrive();
                                   }));
    case ForwardRequest::kStreamItem:
      return StreamItem(lead, request.stream_item(), std::move(done));
    case ForwardRequest::kAcceptMoves:
      return ops.AcceptMoves(request.accept_moves(),
                             [this, group, done](absl::Status s) {
                               if (!s.ok()) return done(s);
                               leaders_.Notify(group);
                               ForwardResponse out;
                               out.mutable_accept_moves();
                               done(std::move(out));
                             });
    default:
      return done(absl::InvalidArgumentError(
          "forwarded request: not a request for one queue partition"));
  }
}

void LocalExecutor::Receive(raft::GroupId group, v1::ReceiveRequest request,
                            absl::Time wait_until, Done done,
                            std::shared_ptr<std::atomic<bool>> cancelled) {
  auto empty = [&done] {
    ForwardResponse out;
    out.mutable_receive();
    done(std::move(out));
  };
  if (cancelled != nullptr && cancelled->load()) return empty();
  absl::StatusOr<PartitionLeaders::Lead*> found = leaders_.Find(group);
  if (!found.ok()) return done(found.status());
  // The wait is ours; the partition leases only what it has now.
  request.clear_wait_time();
  (*found)->ops->Receive(
      request, [this, group, request, wait_until, done,
                cancelled](absl::StatusOr<v1::ReceiveResponse> r) {
        if (!r.ok()) return done(r.status());
        counters_[group].received += static_cast<uint64_t>(r->messages_size());
        if (r->messages_size() > 0 || clock_->Now() >= wait_until) {
          ForwardResponse out;
          *out.mutable_receive() = std::move(*r);
          return done(std::move(out));
        }
        leaders_.Wait(
            group, wait_until,
            [this, group, request, wait_until, done, cancelled](bool maybe) {
              if (maybe && clock_->Now() < wait_until) {
                return Receive(group, request, wait_until, done, cancelled);
              }
              // Deadline, or leadership moved: an empty answer; the
              // client polls again (and learns the new leader).
              ForwardResponse out;
              out.mutable_receive();
              done(std::move(out));
            });
      });
}

void LocalExecutor::StreamItem(PartitionLeaders::Lead& lead,
                               const v1::StreamReceiveRequest& item,
                               Done done) {
  const raft::GroupId group = lead.group;
  const bool acking = item.has_ack();
  auto answer = [this, group, done, acking, id = item.correlation_id()](
                    absl::StatusOr<v1::StreamItemResult> r) {
    if (!r.ok()) return done(r.status());
    r->set_correlation_id(id);
    leaders_.Notify(group);
    if (acking) {
      for (const auto& result : r->receipt_results()) {
        if (result.status().code() == 0) ++counters_[group].deleted;
      }
    }
    ForwardResponse out;
    *out.mutable_stream_item() = std::move(*r);
    done(std::move(out));
  };
  switch (item.item_case()) {
    case v1::StreamReceiveRequest::kAck:
      return lead.ops->Ack(item.ack(), answer);
    case v1::StreamReceiveRequest::kNack:
      return lead.ops->Nack(item.nack(), answer);
    case v1::StreamReceiveRequest::kExtendLease:
      return lead.ops->ExtendLease(item.extend_lease(), answer);
    default:
      return done(absl::InvalidArgumentError(
          "forwarded stream item: only ack, nack and extend_lease"));
  }
}

}  // namespace sluice::broker
