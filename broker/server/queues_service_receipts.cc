// Receive (unary), and the receipt-handle RPCs of the Queues service:
// Delete, ChangeVisibility and the stream's ack/nack/extend items, split by
// the partition each handle names.
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/partition/batch_checks.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "broker/partition/public_ids.h"
#include "broker/server/grpc_status.h"
#include "broker/server/queues_service.h"
#include "broker/server/service_util.h"

namespace sluice::broker {
namespace {

using sluice::internal::ForwardRequest;
using sluice::internal::QueueRecord;

// The partition a handle names; a malformed one goes to partition 0, which
// reports it in the entry's result.
uint32_t HandlePartition(const std::string& handle, const QueueRecord& queue) {
  absl::StatusOr<uint32_t> p = ReceiptHandlePartition(handle, queue.queue_id());
  if (!p.ok() || *p >= static_cast<uint32_t>(queue.partitions_size())) return 0;
  return *p;
}

// Splits entries (with receipt_handle()) by partition: partition -> indexes.
template <typename Entries>
std::map<uint32_t, std::vector<int>> SplitByHandle(const Entries& entries,
                                                   const QueueRecord& queue) {
  std::map<uint32_t, std::vector<int>> out;
  for (int i = 0; i < entries.size(); ++i) {
    out[HandlePartition(entries.Get(i).receipt_handle(), queue)].push_back(i);
  }
  return out;
}

// The part of a forwarded answer that matches a response type.
const v1::DeleteResponse& AnswerOf(const sluice::internal::ForwardResponse& r,
                                   v1::DeleteResponse*) {
  return r.delete_messages();
}
const v1::ChangeVisibilityResponse& AnswerOf(
    const sluice::internal::ForwardResponse& r, v1::ChangeVisibilityResponse*) {
  return r.change_visibility();
}

}  // namespace

QueuesService::Reactor* QueuesService::Receive(
    Context* context, const v1::ReceiveRequest* request,
    v1::ReceiveResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  if (Refused(context, reactor,
              auth_.Check(*context, auth::Permission::kReceive,
                          request->queue_name()))) {
    return reactor;
  }
  absl::StatusOr<QueueRecord> queue = FindQueue(view_, request->queue_name());
  if (!queue.ok()) {
    reactor->Finish(ToGrpcStatus(queue.status(), *context, view_));
    return reactor;
  }
  v1::ReceiveRequest r = *request;
  if (!r.has_wait_time()) {
    *r.mutable_wait_time() = queue->public_attributes().receive_wait_time();
  }
  ReceiveFrom(*queue, r, DeadlineOf(*context), nullptr,
              [this, context, reactor,
               response](absl::StatusOr<v1::ReceiveResponse> result) {
                if (result.ok()) *response = std::move(*result);
                reactor->Finish(ToGrpcStatus(result.status(), *context, view_));
              });
  return reactor;
}

// Delete and ChangeVisibility: the entries split by the partition their
// handles name, each part run at its leader, results merged in request
// order. `part_of` picks the envelope's field; a part that fails as a whole
// fails its entries (INVALID_ARGUMENT: the call).
template <typename Request, typename Response, typename PartOf>
QueuesService::Reactor* QueuesService::ReceiptBatch(Context* context,
                                                    const Request* request,
                                                    Response* response,
                                                    PartOf part_of) {
  Reactor* reactor = context->DefaultReactor();
  if (Refused(context, reactor,
              auth_.Check(*context, auth::Permission::kDelete,
                          request->queue_name()))) {
    return reactor;
  }
  absl::StatusOr<QueueRecord> queue = FindQueue(view_, request->queue_name());
  absl::Status s = queue.status();
  if (s.ok()) s = ValidateBatch(request->entries(), {});
  if (!s.ok()) {
    reactor->Finish(ToGrpcStatus(s, *context, view_));
    return reactor;
  }
  auto split = std::make_shared<std::map<uint32_t, std::vector<int>>>(
      SplitByHandle(request->entries(), *queue));
  std::vector<ForwardRequest> parts;
  for (const auto& [p, indexes] : *split) {
    ForwardRequest f;
    *f.mutable_target() = PartitionTarget(*queue, p);
    Request* part = part_of(f);
    part->set_queue_name(request->queue_name());
    for (int i : indexes) *part->add_entries() = request->entries(i);
    parts.push_back(std::move(f));
  }
  for (const auto& e : request->entries()) {
    response->add_results()->set_entry_id(e.entry_id());
  }
  FanOut(std::move(parts), DeadlineOf(*context),
         [this, context, reactor, response, split,
          part_of](std::vector<RequestRouter::Result> results) {
           size_t r = 0;
           for (const auto& [p, indexes] : *split) {
             RequestRouter::Result& result = results[r++];
             if (!result.response.ok() &&
                 absl::IsInvalidArgument(result.response.status())) {
               reactor->Finish(
                   ToGrpcStatus(result.response.status(), *context, view_));
               return;
             }
             for (size_t k = 0; k < indexes.size(); ++k) {
               auto* out = response->mutable_results(indexes[k]);
               if (!result.response.ok()) {
                 *out->mutable_status() =
                     ToEntryStatus(result.response.status());
                 continue;
               }
               const auto& answered =
                   AnswerOf(*result.response, static_cast<Response*>(nullptr));
               if (static_cast<int>(k) < answered.results_size()) {
                 *out = answered.results(static_cast<int>(k));
               }
             }
           }
           reactor->Finish(grpc::Status::OK);
         });
  return reactor;
}

QueuesService::Reactor* QueuesService::Delete(Context* context,
                                              const v1::DeleteRequest* request,
                                              v1::DeleteResponse* response) {
  return ReceiptBatch(context, request, response, [](ForwardRequest& f) {
    return f.mutable_delete_messages();
  });
}

QueuesService::Reactor* QueuesService::ChangeVisibility(
    Context* context, const v1::ChangeVisibilityRequest* request,
    v1::ChangeVisibilityResponse* response) {
  return ReceiptBatch(context, request, response, [](ForwardRequest& f) {
    return f.mutable_change_visibility();
  });
}

void QueuesService::Release(const QueueRecord& queue, uint32_t partition,
                            std::vector<v1::Message> messages) {
  ForwardRequest f;
  *f.mutable_target() = PartitionTarget(queue, partition);
  f.set_undo_receive(true);  // these leases never reached a client
  auto* change = f.mutable_change_visibility();
  change->set_queue_name(queue.name());
  int n = 0;
  for (const v1::Message& m : messages) {
    auto* e = change->add_entries();
    e->set_entry_id(absl::StrCat("release-", n++));
    e->set_receipt_handle(m.receipt_handle());
    e->mutable_visibility_timeout();  // zero: visible again at once
  }
  router_.Call(std::move(f), absl::Now() + absl::Seconds(10),
               [](RequestRouter::Result) {});
}

void QueuesService::StreamItem(const QueueRecord& queue,
                               const v1::StreamReceiveRequest& item,
                               absl::Time deadline,
                               std::function<void(v1::StreamItemResult)> done) {
  const google::protobuf::RepeatedPtrField<std::string>* handles = nullptr;
  switch (item.item_case()) {
    case v1::StreamReceiveRequest::kAck:
      handles = &item.ack().receipt_handles();
      break;
    case v1::StreamReceiveRequest::kNack:
      handles = &item.nack().receipt_handles();
      break;
    case v1::StreamReceiveRequest::kExtendLease:
      handles = &item.extend_lease().receipt_handles();
      break;
    default:
      break;
  }
  v1::StreamItemResult result;
  result.set_correlation_id(item.correlation_id());
  if (handles == nullptr || handles->empty() || handles->size() > 1000) {
    *result.mutable_status() = ToEntryStatus(InvalidField(
        "receipt_handles", "an ack, nack or extend needs 1-1000 handles"));
    return done(std::move(result));
  }
  std::map<uint32_t, std::vector<int>> split;
  for (int i = 0; i < handles->size(); ++i) {
    split[HandlePartition(handles->Get(i), queue)].push_back(i);
  }
  std::vector<ForwardRequest> parts;
  for (const auto& [p, indexes] : split) {
    ForwardRequest f;
    *f.mutable_target() = PartitionTarget(queue, p);
    v1::StreamReceiveRequest* copy = f.mutable_stream_item();
    *copy = item;
    google::protobuf::RepeatedPtrField<std::string>* mine =
        copy->has_ack() ? copy->mutable_ack()->mutable_receipt_handles()
        : copy->has_nack()
            ? copy->mutable_nack()->mutable_receipt_handles()
            : copy->mutable_extend_lease()->mutable_receipt_handles();
    mine->Clear();
    for (int i : indexes) *mine->Add() = handles->Get(i);
    parts.push_back(std::move(f));
  }
  const int total = handles->size();
  std::vector<std::string> names(handles->begin(), handles->end());
  FanOut(std::move(parts), deadline,
         [split = std::move(split), result = std::move(result), total,
          names = std::move(names),
          done](std::vector<RequestRouter::Result> results) mutable {
           std::vector<v1::ReceiptResult> ordered(static_cast<size_t>(total));
           size_t r = 0;
           bool failed = false;
           for (const auto& [p, indexes] : split) {
             RequestRouter::Result& part = results[r++];
             for (size_t k = 0; k < indexes.size(); ++k) {
               v1::ReceiptResult& out =
                   ordered[static_cast<size_t>(indexes[k])];
               if (!part.response.ok()) {
                 *out.mutable_status() = ToEntryStatus(part.response.status());
               } else if (static_cast<int>(k) <
                          part.response->stream_item().receipt_results_size()) {
                 out = part.response->stream_item().receipt_results(
                     static_cast<int>(k));
               }
               // Named even when its partition could not be reached.
               out.set_receipt_handle(names[static_cast<size_t>(indexes[k])]);
               if (out.status().code() != 0 && !failed) {
                 failed = true;
                 *result.mutable_status() = out.status();
               }
             }
           }
           for (auto& o : ordered) *result.add_receipt_results() = std::move(o);
           done(std::move(result));
         });
}

}  // namespace sluice::broker
