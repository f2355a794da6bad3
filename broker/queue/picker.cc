// Leader-side planning: which messages a receive gets, which must go to the
// dead-letter queue, what a redrive moves next, and the batch that copies the
// outbox to its destination. Read-only for replicated state; only this
// replica's reservations change.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "broker/queue/queue_attributes.h"
#include "broker/queue/queue_state_machine.h"

namespace sluice::broker {

ReceivePlan QueueStateMachine::PlanReceive(const ReceiveOptions& options) {
  const absl::Time now = Now();
  index_->AdvanceTo(now);
  ReceivePlan plan;
  plan.grant.set_visibility_timeout_micros(
      absl::ToInt64Microseconds(options.visibility_timeout.value_or(
          Micros(attributes_.visibility_timeout_micros()))));
  const uint32_t max_receives =
      attributes_.has_redrive_policy()
          ? attributes_.redrive_policy().max_receive_count()
          : 0;
  uint32_t taken = 0;
  index_->Pick(now + options_.reservation_timeout,
               [&](uint64_t seq, const Meta& meta) {
                 if (taken >= options.max_messages) {
                   return MessageIndex::PickVisit::kStop;
                 }
                 internal::LeaseGrant g;
                 g.set_sequence(seq);
                 g.set_expected_receive_count(meta.receive_count);
                 if (max_receives != 0 && meta.receive_count >= max_receives) {
                   // Moved, not delivered. Its group waits for the move.
                   *plan.dead_letter.add_messages() = g;
                   return MessageIndex::PickVisit::kTakeLast;
                 }
                 *plan.grant.add_grants() = g;
                 ++taken;
                 return MessageIndex::PickVisit::kTake;
               });
  return plan;
}

void QueueStateMachine::ReleasePlan(const ReceivePlan& plan) {
  for (const auto& g : plan.grant.grants()) index_->Unreserve(g.sequence());
  for (const auto& g : plan.dead_letter.messages()) {
    index_->Unreserve(g.sequence());
  }
}

std::optional<internal::RedriveMove> QueueStateMachine::PlanRedrive(
    size_t max) {
  if (!redrive_.has_value() || redrive_->completed()) return std::nullopt;
  const absl::Time now = Now();
  index_->AdvanceTo(now);
  size_t allowed = max;
  const uint32_t rate = redrive_->max_per_second();
  if (rate != 0) {
    if (redrive_refilled_ == absl::InfinitePast()) {
      redrive_tokens_ = rate;  // one second's worth to start with
    } else {
      redrive_tokens_ += absl::ToDoubleSeconds(now - redrive_refilled_) * rate;
    }
    redrive_tokens_ = std::min<double>(redrive_tokens_, rate);
    redrive_refilled_ = now;
    allowed = std::min<size_t>(max, static_cast<size_t>(redrive_tokens_));
  }
  if (allowed == 0) return std::nullopt;
  internal::RedriveMove move;
  index_->Pick(now + options_.reservation_timeout,
               [&](uint64_t seq, const Meta& meta) {
                 if (static_cast<size_t>(move.messages_size()) >= allowed) {
                   return MessageIndex::PickVisit::kStop;
                 }
                 internal::LeaseGrant* g = move.add_messages();
                 g->set_sequence(seq);
                 g->set_expected_receive_count(meta.receive_count);
                 return MessageIndex::PickVisit::kTake;
               });
  if (move.messages_size() == 0) return std::nullopt;
  if (rate != 0) redrive_tokens_ -= move.messages_size();
  return move;
}

absl::StatusOr<internal::SendBatch> QueueStateMachine::BuildMoveBatch(
    const std::string& destination, size_t max) const {
  internal::SendBatch batch;
  batch.set_producer_id(MoveProducerId());
  for (const auto& [move_seq, item] : outbox_) {
    if (static_cast<size_t>(batch.entries_size()) >= max) break;
    if (item.destination != destination) continue;
    absl::StatusOr<StoredMessage> message = ReadMessage(MessageSeq(item.seq));
    if (!message.ok()) return message.status();
    internal::SendEntry* entry = batch.add_entries();
    entry->set_body(message->body.body());
    *entry->mutable_attributes() = message->body.attributes();
    entry->set_group_id(message->meta.group_id());
    entry->set_dedup_id(message->meta.dedup_id());
    entry->set_producer_sequence(move_seq);
    internal::MovedFrom* from = entry->mutable_moved_from();
    from->set_source_queue(attributes_.name());
    from->set_source_partition(options_.partition.value());
    from->set_source_sequence(item.seq);
    from->set_receive_count(message->state.receive_count());
  }
  return batch;
}

}  // namespace sluice::broker
