// PartitionOps: operations by receipt handle — Delete, ChangeVisibility and
// the stream's ack, nack and lease extension.
#include <utility>

#include "absl/strings/str_format.h"
#include "broker/partition/batch_checks.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/partition_ops.h"
#include "broker/partition/proto_time.h"
#include "broker/partition/public_ids.h"
#include "broker/queue/validation.h"

namespace sluice::broker {
namespace {

constexpr int kMaxStreamHandles = 1000;

absl::Status Closed() {
  return absl::UnavailableError("partition closed on this node");
}

// A lease length or delay: 0s..12h, INVALID_ARGUMENT naming `field`.
absl::Status ValidateDuration(const std::string& field,
                              const google::protobuf::Duration& d) {
  absl::Status s = ValidateVisibilityTimeout(field, FromProtoDuration(d));
  return WithReason(s, v1::ERROR_REASON_UNSPECIFIED, field);
}

absl::Status ValidateHandles(
    const google::protobuf::RepeatedPtrField<std::string>& handles) {
  if (handles.empty()) {
    return InvalidField("receipt_handles", "at least one is required",
                        v1::ERROR_REASON_EMPTY_BATCH);
  }
  if (handles.size() > kMaxStreamHandles) {
    return InvalidField("receipt_handles",
                        absl::StrFormat("%d handles, at most %d",
                                        handles.size(), kMaxStreamHandles),
                        v1::ERROR_REASON_TOO_MANY_ENTRIES);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<internal::ReceiptRef> PartitionOps::CheckHandle(
    const std::string& handle, ReceiptKind kind) {
  absl::StatusOr<PublicReceipt> receipt = PublicReceipt::Decode(handle);
  if (!receipt.ok()) return receipt.status();
  if (receipt->queue_id != options_.queue_id ||
      receipt->partition != options_.partition) {
    return WithReason(
        absl::InvalidArgumentError(absl::StrFormat(
            "receipt_handle: names queue %d partition %d, not queue %d "
            "partition %d",
            receipt->queue_id, receipt->partition, options_.queue_id,
            options_.partition)),
        v1::ERROR_REASON_RECEIPT_HANDLE_INVALID, "receipt_handle");
  }
  if (kind != ReceiptKind::kDelete) {
    // Whether a lease ran out is this replica's clock, which the state
    // machine does not look at when it applies; the leader decides here.
    const Meta* meta = queue_.index().Find(receipt->sequence.value());
    if (meta != nullptr && meta->receive_count == receipt->receive_count &&
        meta->logical() == MsgState::kLeased && meta->due) {
      return WithReason(
          absl::FailedPreconditionError(absl::StrFormat(
              "receipt_handle: the lease of message %d has run out",
              receipt->sequence.value())),
          v1::ERROR_REASON_MESSAGE_NOT_IN_FLIGHT, "receipt_handle");
    }
  }
  internal::ReceiptRef ref;
  ref.set_sequence(receipt->sequence.value());
  ref.set_receive_count(receipt->receive_count);
  return ref;
}

void PartitionOps::ProposeReceipts(ReceiptKind kind,
                                   std::vector<ReceiptItem> items,
                                   absl::Span<const int> request_indexes,
                                   ReceiptsDone done) {
  if (kind != ReceiptKind::kDelete) Refresh();
  auto results = std::make_shared<std::vector<absl::Status>>();
  std::vector<int> proposed;  // item index of each command entry
  internal::Command command = NewCommand();
  for (size_t i = 0; i < items.size(); ++i) {
    absl::StatusOr<internal::ReceiptRef> ref =
        CheckHandle(items[i].handle, kind);
    if (!ref.ok()) {
      const std::string field =
          absl::StrFormat("entries[%d].receipt_handle",
                          RequestIndex(request_indexes, static_cast<int>(i)));
      results->push_back(
          WithReason(ref.status(), ReasonOf(ref.status()), field));
      continue;
    }
    results->push_back(absl::OkStatus());
    proposed.push_back(static_cast<int>(i));
    switch (kind) {
      case ReceiptKind::kDelete:
        *command.mutable_delete_()->add_receipts() = *ref;
        break;
      case ReceiptKind::kChange:
      case ReceiptKind::kRelease: {
        internal::VisibilityChange* c =
            command.mutable_change_visibility()->add_changes();
        *c->mutable_receipt() = *ref;
        c->set_timeout_micros(absl::ToInt64Microseconds(*items[i].duration));
        c->set_undo_receive(kind == ReceiptKind::kRelease);
        break;
      }
      case ReceiptKind::kNack: {
        internal::NackEntry* n = command.mutable_nack()->add_entries();
        *n->mutable_receipt() = *ref;
        if (items[i].duration.has_value()) {
          n->set_delay_micros(absl::ToInt64Microseconds(*items[i].duration));
        }
        break;
      }
    }
  }
  if (proposed.empty()) return done(std::move(*results));
  const ReceiptOp op = kind == ReceiptKind::kDelete ? ReceiptOp::kDelete
                                                    : ReceiptOp::kChangeLease;
  proposer_.Propose(std::move(command), [alive = Alive(), results, proposed, op,
                                         done](absl::StatusOr<ApplyResult> r) {
    if (alive.expired()) return done(Closed());
    if (!r.ok()) return done(r.status());
    if (!r->status.ok()) return done(r->status);
    for (size_t j = 0; j < proposed.size() && j < r->entries.size(); ++j) {
      (*results)[proposed[j]] = FromReceiptCheck(r->entries[j], op);
    }
    done(std::move(*results));
  });
}

void PartitionOps::Delete(const v1::DeleteRequest& request,
                          Done<v1::DeleteResponse> done,
                          absl::Span<const int> request_indexes) {
  if (absl::Status s = ValidateBatch(request.entries(), request_indexes);
      !s.ok()) {
    return done(s);
  }
  std::vector<ReceiptItem> items;
  for (const v1::DeleteEntry& e : request.entries()) {
    items.push_back({e.receipt_handle(), std::nullopt});
  }
  ProposeReceipts(
      ReceiptKind::kDelete, std::move(items), request_indexes,
      [request, done](absl::StatusOr<std::vector<absl::Status>> results) {
        if (!results.ok()) return done(results.status());
        v1::DeleteResponse response;
        for (int i = 0; i < request.entries_size(); ++i) {
          v1::DeleteResult* r = response.add_results();
          r->set_entry_id(request.entries(i).entry_id());
          *r->mutable_status() = ToEntryStatus((*results)[i]);
        }
        done(std::move(response));
      });
}

void PartitionOps::ChangeVisibility(const v1::ChangeVisibilityRequest& request,
                                    Done<v1::ChangeVisibilityResponse> done,
                                    absl::Span<const int> request_indexes,
                                    bool undo_receive) {
  if (absl::Status s = ValidateBatch(request.entries(), request_indexes);
      !s.ok()) {
    return done(s);
  }
  std::vector<ReceiptItem> items;
  for (int i = 0; i < request.entries_size(); ++i) {
    const v1::ChangeVisibilityEntry& e = request.entries(i);
    const std::string field = absl::StrFormat("entries[%d].visibility_timeout",
                                              RequestIndex(request_indexes, i));
    if (!e.has_visibility_timeout()) {
      return done(InvalidField(field, "required"));
    }
    if (absl::Status s = ValidateDuration(field, e.visibility_timeout());
        !s.ok()) {
      return done(s);
    }
    if (undo_receive &&
        FromProtoDuration(e.visibility_timeout()) != absl::ZeroDuration()) {
      return done(InvalidField(field, "must be 0 to undo a receive"));
    }
    items.push_back(
        {e.receipt_handle(), FromProtoDuration(e.visibility_timeout())});
  }
  ProposeReceipts(undo_receive ? ReceiptKind::kRelease : ReceiptKind::kChange,
                  items, request_indexes,
                  [this, alive = Alive(), request, items,
                   done](absl::StatusOr<std::vector<absl::Status>> results) {
                    if (!results.ok()) return done(results.status());
                    if (alive.expired()) return done(Closed());
                    const absl::Time now = WallNow();
                    v1::ChangeVisibilityResponse response;
                    for (int i = 0; i < request.entries_size(); ++i) {
                      v1::ChangeVisibilityResult* r = response.add_results();
                      r->set_entry_id(request.entries(i).entry_id());
                      *r->mutable_status() = ToEntryStatus((*results)[i]);
                      if ((*results)[i].ok()) {
                        *r->mutable_lease_deadline() =
                            ToProtoTimestamp(now + *items[i].duration);
                      }
                    }
                    done(std::move(response));
                  });
}

void PartitionOps::ItemResults(ReceiptKind kind, std::vector<ReceiptItem> items,
                               ItemDone done) {
  ProposeReceipts(kind, items, {},
                  [this, alive = Alive(), kind, items,
                   done](absl::StatusOr<std::vector<absl::Status>> results) {
                    if (!results.ok()) return done(results.status());
                    if (alive.expired()) return done(Closed());
                    const absl::Time now = WallNow();
                    v1::StreamItemResult out;
                    *out.mutable_status() = ToEntryStatus(absl::OkStatus());
                    for (size_t i = 0; i < items.size(); ++i) {
                      // Items are not request entries: field paths name the
                      // handle.
                      absl::Status s = (*results)[i];
                      if (!s.ok() && !FieldOf(s).empty()) {
                        s = WithReason(s, ReasonOf(s), "receipt_handle");
                      }
                      v1::ReceiptResult* r = out.add_receipt_results();
                      r->set_receipt_handle(items[i].handle);
                      *r->mutable_status() = ToEntryStatus(s);
                      if (s.ok() && kind == ReceiptKind::kChange) {
                        *r->mutable_lease_deadline() =
                            ToProtoTimestamp(now + *items[i].duration);
                      }
                      if (!s.ok() && out.status().code() == 0) {
                        *out.mutable_status() = ToEntryStatus(s);
                      }
                    }
                    done(std::move(out));
                  });
}

void PartitionOps::Ack(const v1::StreamAck& ack, ItemDone done) {
  if (absl::Status s = ValidateHandles(ack.receipt_handles()); !s.ok()) {
    return done(s);
  }
  std::vector<ReceiptItem> items;
  for (const std::string& h : ack.receipt_handles()) {
    items.push_back({h, std::nullopt});
  }
  ItemResults(ReceiptKind::kDelete, std::move(items), std::move(done));
}

void PartitionOps::Nack(const v1::StreamNack& nack, ItemDone done) {
  if (absl::Status s = ValidateHandles(nack.receipt_handles()); !s.ok()) {
    return done(s);
  }
  std::optional<absl::Duration> delay;
  if (nack.has_redelivery_delay()) {
    if (absl::Status s =
            ValidateDuration("redelivery_delay", nack.redelivery_delay());
        !s.ok()) {
      return done(s);
    }
    delay = FromProtoDuration(nack.redelivery_delay());
  }
  std::vector<ReceiptItem> items;
  for (const std::string& h : nack.receipt_handles())
    items.push_back({h, delay});
  ItemResults(ReceiptKind::kNack, std::move(items), std::move(done));
}

void PartitionOps::ExtendLease(const v1::StreamExtendLease& extend,
                               ItemDone done) {
  if (absl::Status s = ValidateHandles(extend.receipt_handles()); !s.ok()) {
    return done(s);
  }
  if (!extend.has_visibility_timeout()) {
    return done(InvalidField("visibility_timeout", "required"));
  }
  if (absl::Status s =
          ValidateDuration("visibility_timeout", extend.visibility_timeout());
      !s.ok()) {
    return done(s);
  }
  const absl::Duration timeout = FromProtoDuration(extend.visibility_timeout());
  std::vector<ReceiptItem> items;
  for (const std::string& h : extend.receipt_handles()) {
    items.push_back({h, timeout});
  }
  ItemResults(ReceiptKind::kChange, std::move(items), std::move(done));
}

}  // namespace sluice::broker
