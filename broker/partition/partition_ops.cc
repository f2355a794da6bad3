// PartitionOps: construction, Send and Receive.
#include "broker/partition/partition_ops.h"

#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "base/logging.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/message_view.h"
#include "broker/partition/proto_time.h"
#include "broker/partition/public_ids.h"
#include "broker/partition/send_request.h"
#include "broker/queue/queue_attributes.h"
#include "broker/queue/validation.h"

namespace sluice::broker {
namespace {

constexpr uint32_t kMaxReceiveMessages = 100;
constexpr uint64_t kDefaultReceiveBytes = 3 * 1024 * 1024;
constexpr uint64_t kMaxReceiveBytes = 64 * 1024 * 1024;
constexpr absl::Duration kMaxWaitTime = absl::Seconds(20);
constexpr int kMaxAttributeSelection = 10;

absl::Status Closed() {
  return absl::UnavailableError("partition closed on this node");
}

absl::Status ValidateReceive(const v1::ReceiveRequest& r) {
  if (r.max_messages() > kMaxReceiveMessages) {
    return InvalidField("max_messages",
                        absl::StrFormat("%d is above %d", r.max_messages(),
                                        kMaxReceiveMessages));
  }
  if (r.max_bytes() > kMaxReceiveBytes) {
    return InvalidField(
        "max_bytes",
        absl::StrFormat("%d is above %d", r.max_bytes(), kMaxReceiveBytes));
  }
  if (r.has_visibility_timeout()) {
    absl::Status s = ValidateVisibilityTimeout(
        "visibility_timeout", FromProtoDuration(r.visibility_timeout()));
    if (!s.ok())
      return WithReason(s, v1::ERROR_REASON_UNSPECIFIED, "visibility_timeout");
  }
  if (r.has_wait_time()) {
    const absl::Duration wait = FromProtoDuration(r.wait_time());
    if (wait < absl::ZeroDuration() || wait > kMaxWaitTime) {
      return InvalidField("wait_time", "must be within [0s, 20s]");
    }
  }
  if (r.message_attribute_names_size() > kMaxAttributeSelection) {
    return InvalidField("message_attribute_names",
                        absl::StrFormat("%d names, at most %d",
                                        r.message_attribute_names_size(),
                                        kMaxAttributeSelection));
  }
  return absl::OkStatus();
}

}  // namespace

PartitionOps::PartitionOps(QueueStateMachine& queue, Proposer& proposer,
                           PartitionOpsOptions options)
    : queue_(queue), proposer_(proposer), options_(options) {
  SLUICE_CHECK(options_.wall_clock != nullptr && options_.clock != nullptr)
      << "PartitionOps of partition " << options_.partition
      << " needs both clocks";
}

internal::Command PartitionOps::NewCommand() const {
  internal::Command c;
  c.set_log_time_micros(absl::ToUnixMicros(WallNow()));
  return c;
}

void PartitionOps::Refresh() {
  // Peek past the last possible sequence reads nothing; it only moves the
  // index's timers up to the clock, which the const accessors do not.
  queue_.Peek(MessageSeq(std::numeric_limits<uint64_t>::max()), 0);
}

// ---------------------------------------------------------------------------
// Send

void PartitionOps::Send(const v1::SendRequest& request,
                        Done<v1::SendResponse> done,
                        absl::Span<const int> request_indexes) {
  SendContext context{&queue_.attributes(), options_.partition, WallNow(),
                      request_indexes};
  absl::StatusOr<SendPlan> planned = PlanSend(request, context);
  if (!planned.ok()) return done(planned.status());
  auto plan = std::make_shared<SendPlan>(*std::move(planned));

  // Results in request order; the entries that were proposed are filled in
  // when the batch is applied.
  // No `this`: an applied send is answered with its result even when the
  // partition closed on this node meanwhile (e.g. a leadership transfer).
  auto respond = [queue_id = options_.queue_id, partition = options_.partition,
                  request, plan](const ApplyResult* applied, absl::Time sent) {
    v1::SendResponse response;
    for (int i = 0; i < request.entries_size(); ++i) {
      v1::SendResult* r = response.add_results();
      r->set_entry_id(request.entries(i).entry_id());
      const int b = plan->batch_index[i];
      if (b < 0) {
        *r->mutable_status() = ToEntryStatus(plan->errors[i]);
        continue;
      }
      const SendResult& s = applied->sends[b];
      absl::Status status = s.status;
      if (status.ok() && s.duplicate && s.seq.value() == 0) {
        status = WithReason(
            absl::FailedPreconditionError(absl::StrFormat(
                "entries[%d]: producer sequence %d was applied by an earlier "
                "request whose result is no longer remembered",
                i, plan->batch.first_producer_sequence() + b)),
            v1::ERROR_REASON_PRODUCER_SEQUENCE_STALE);
      }
      *r->mutable_status() = ToEntryStatus(status);
      if (!status.ok()) continue;
      r->set_message_id(FormatMessageId(queue_id, partition, s.seq));
      r->set_partition(partition);
      r->set_sequence_number(s.seq.value());
      r->set_duplicate(s.duplicate);
      // A duplicate's original send time would need a read; left unset.
      if (!s.duplicate) *r->mutable_sent_time() = ToProtoTimestamp(sent);
    }
    return response;
  };

  if (plan->batch.entries_size() == 0) return done(respond(nullptr, WallNow()));
  internal::Command command = NewCommand();
  const absl::Time sent = absl::FromUnixMicros(command.log_time_micros());
  *command.mutable_send() = plan->batch;
  proposer_.Propose(std::move(command),
                    [respond, sent, done](absl::StatusOr<ApplyResult> r) {
                      if (!r.ok()) return done(r.status());
                      if (!r->status.ok()) return done(r->status);
                      done(respond(&*r, sent));
                    });
}

// ---------------------------------------------------------------------------
// Receive

void PartitionOps::Receive(const v1::ReceiveRequest& request,
                           Done<v1::ReceiveResponse> done) {
  if (absl::Status s = ValidateReceive(request); !s.ok()) return done(s);
  ReceiveOptions receive;
  receive.max_messages =
      request.max_messages() == 0 ? 1 : request.max_messages();
  if (request.has_visibility_timeout()) {
    receive.visibility_timeout =
        FromProtoDuration(request.visibility_timeout());
  }
  const absl::Duration timeout = receive.visibility_timeout.value_or(
      Micros(queue_.attributes().visibility_timeout_micros()));
  ReceivePlan plan = queue_.PlanReceive(receive);

  if (plan.dead_letter.messages_size() > 0) {
    // Messages over max_receive_count go to the outbox instead; Tick()
    // copies them to the dead-letter queue.
    internal::Command move = NewCommand();
    *move.mutable_move_to_dead_letter() = plan.dead_letter;
    ReceivePlan moving;
    moving.dead_letter = plan.dead_letter;
    proposer_.Propose(std::move(move), [this, alive = Alive(),
                                        moving](absl::StatusOr<ApplyResult> r) {
      if (!alive.expired() && !r.ok()) queue_.ReleasePlan(moving);
    });
  }
  if (plan.grant.grants_size() == 0) return done(v1::ReceiveResponse());

  ReceivePlan granting;
  granting.grant = plan.grant;
  internal::Command command = NewCommand();
  *command.mutable_grant() = plan.grant;
  proposer_.Propose(
      std::move(command), [this, alive = Alive(), granting, request, timeout,
                           done](absl::StatusOr<ApplyResult> r) {
        if (alive.expired()) return done(Closed());
        if (!r.ok() || !r->status.ok()) {
          queue_.ReleasePlan(granting);
          return done(r.ok() ? r->status : r.status());
        }
        // Grants that did not hold (the message changed meanwhile) stay
        // reserved until released; those that held are no longer reserved.
        ReceivePlan void_grants;
        void_grants.grant.set_visibility_timeout_micros(
            granting.grant.visibility_timeout_micros());
        absl::flat_hash_set<uint64_t> leased;
        for (const LeasedMessage& m : r->leased) leased.insert(m.seq.value());
        for (const internal::LeaseGrant& g : granting.grant.grants()) {
          if (!leased.contains(g.sequence())) {
            *void_grants.grant.add_grants() = g;
          }
        }
        queue_.ReleasePlan(void_grants);
        done(Deliver(request, *r, timeout));
      });
}

v1::ReceiveResponse PartitionOps::Deliver(const v1::ReceiveRequest& request,
                                          const ApplyResult& result,
                                          absl::Duration timeout) {
  const uint64_t max_bytes =
      request.max_bytes() == 0 ? kDefaultReceiveBytes : request.max_bytes();
  MessageViewOptions view{options_.queue_id, options_.partition,
                          &request.message_attribute_names(), false};
  const absl::Time deadline = WallNow() + timeout;
  v1::ReceiveResponse response;
  uint64_t bytes = 0;
  std::vector<internal::ReceiptRef> over_budget;
  for (const LeasedMessage& leased : result.leased) {
    internal::ReceiptRef ref;
    ref.set_sequence(leased.seq.value());
    ref.set_receive_count(leased.receive_count);
    absl::StatusOr<StoredMessage> stored = queue_.ReadMessage(leased.seq);
    if (!stored.ok()) {
      // Deleted by a later command before this reply (possible when the
      // host answers after later entries applied): nothing to deliver.
      SLUICE_LOG(WARNING) << "partition " << options_.partition
                          << ": leased message " << leased.seq.value()
                          << " unreadable: " << stored.status();
      continue;
    }
    const uint32_t size = StoredMessageSize(stored->body);
    if (response.messages_size() > 0 && bytes + size > max_bytes) {
      over_budget.push_back(ref);
      continue;
    }
    bytes += size;
    v1::Message* m = response.add_messages();
    *m = ToPublicMessage(*stored, view);
    m->set_receive_count(leased.receive_count);
    m->set_receipt_handle(PublicReceipt{options_.queue_id, options_.partition,
                                        leased.seq, leased.receive_count}
                              .Encode());
    *m->mutable_lease_deadline() = ToProtoTimestamp(deadline);
    m->set_state(v1::MESSAGE_STATE_IN_FLIGHT);
  }
  if (!over_budget.empty()) ReleaseLater(std::move(over_budget));
  return response;
}

void PartitionOps::ReleaseLater(std::vector<internal::ReceiptRef> receipts) {
  internal::Command command = NewCommand();
  for (internal::ReceiptRef& ref : receipts) {
    internal::VisibilityChange* c =
        command.mutable_change_visibility()->add_changes();
    *c->mutable_receipt() = std::move(ref);
    c->set_timeout_micros(0);
    c->set_undo_receive(true);  // never delivered
  }
  // Best effort: if it is lost, the leases simply run out.
  proposer_.Propose(std::move(command), [](absl::StatusOr<ApplyResult>) {});
}

}  // namespace sluice::broker
