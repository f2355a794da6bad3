// Leases: GrantLeases (receive), Delete, ChangeVisibility, Nack, and
// CancelScheduled. Every check here reads only replicated state (receive
// counts, logical states), never this replica's deadlines.
#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "broker/queue/queue_attributes.h"
#include "broker/queue/queue_state_machine.h"
#include "broker/queue/receipt_handle.h"
#include "broker/queue/validation.h"

namespace sluice::broker {

absl::Duration QueueStateMachine::Backoff(uint32_t receive_count) const {
  if (!attributes_.has_retry_backoff() || receive_count == 0) {
    return absl::ZeroDuration();
  }
  const absl::Duration max = Micros(attributes_.retry_backoff().max_micros());
  absl::Duration d = Micros(attributes_.retry_backoff().initial_micros());
  for (uint32_t i = 1; i < receive_count && d < max; ++i) d *= 2;
  return std::min(d, max);
}

void QueueStateMachine::ApplyGrant(const internal::GrantLeases& grant,
                                   StateWriteBatch& batch,
                                   ApplyResult& result) {
  const absl::Duration timeout = Micros(grant.visibility_timeout_micros());
  result.status = ValidateVisibilityTimeout("visibility_timeout", timeout);
  if (!result.status.ok()) return;
  absl::flat_hash_set<uint64_t> granted;
  for (const internal::LeaseGrant& g : grant.grants()) {
    const uint64_t seq = g.sequence();
    const Meta* found = index_->Find(seq);
    // Void grants (deleted, moved, or handed out again since the leader
    // looked) are skipped: the receiver simply does not get that message.
    if (found == nullptr || found->logical() == MsgState::kOutbox ||
        found->receive_count != g.expected_receive_count() ||
        found->receive_count == kReceiveCountCap || granted.contains(seq)) {
      continue;
    }
    if (attributes_.fifo()) {
      // Strict order: only the group's first message, or the next one after
      // a message granted by this same command.
      std::optional<uint64_t> prev = index_->GroupPrevious(found->group, seq);
      if (prev.has_value() && !granted.contains(*prev)) continue;
    }
    Meta meta = *found;
    if (meta.receive_count == 0) {
      internal::StoredFirstReceive first;
      first.set_first_receive_micros(absl::ToUnixMicros(log_time_));
      batch.Put(keys_.Message(RecordKind::kFirstReceive, seq),
                first.SerializeAsString());
    }
    meta.receive_count = meta.receive_count + 1;
    counters_.set_received_total(counters_.received_total() + 1);
    meta.state = static_cast<uint32_t>(MsgState::kLeased);
    meta.due = 0;
    meta.reserved = 0;
    // A lease that runs out returns its message after the retry backoff.
    const absl::Duration invisible = timeout + Backoff(meta.receive_count);
    meta.deadline = absl::ToUnixMicros(Now() + invisible);
    WriteState(seq, meta, absl::ToUnixMicros(log_time_ + invisible), batch);
    index_->Update(seq, meta);
    granted.insert(seq);
    ReceiptHandle handle{options_.partition, MessageSeq(seq),
                         meta.receive_count};
    result.leased.push_back(
        {MessageSeq(seq), meta.receive_count, handle.Encode()});
  }
}

absl::StatusOr<Meta> QueueStateMachine::CheckReceipt(
    const internal::ReceiptRef& receipt) const {
  const Meta* meta = index_->Find(receipt.sequence());
  if (meta == nullptr) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "receipt_handle: message %d no longer exists", receipt.sequence()));
  }
  if (receipt.receive_count() == 0 ||
      receipt.receive_count() != meta->receive_count) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "receipt_handle: stale, message %d was received again since (receive "
        "%d, now %d)",
        receipt.sequence(), receipt.receive_count(), meta->receive_count));
  }
  if (meta->logical() == MsgState::kOutbox) {
    return absl::FailedPreconditionError(
        absl::StrFormat("receipt_handle: message %d was moved to another queue",
                        receipt.sequence()));
  }
  return *meta;
}

void QueueStateMachine::ApplyDelete(const internal::Delete& del,
                                    StateWriteBatch& batch,
                                    ApplyResult& result) {
  for (const internal::ReceiptRef& receipt : del.receipts()) {
    if (index_->Find(receipt.sequence()) == nullptr) {
      // Deleted already: deleting again succeeds, as in SQS.
      result.entries.push_back(absl::OkStatus());
      continue;
    }
    absl::StatusOr<Meta> meta = CheckReceipt(receipt);
    if (meta.ok()) {
      DeleteMessage(receipt.sequence(), batch);
      counters_.set_deleted_total(counters_.deleted_total() + 1);
    }
    result.entries.push_back(meta.status());
  }
}

void QueueStateMachine::Relet(uint64_t seq, Meta meta, absl::Duration d,
                              StateWriteBatch& batch) {
  meta.due = 0;
  meta.reserved = 0;
  if (d <= absl::ZeroDuration()) {
    meta.state = static_cast<uint32_t>(MsgState::kVisible);
    meta.deadline = 0;
  } else {
    meta.state = static_cast<uint32_t>(MsgState::kLeased);
    meta.deadline = absl::ToUnixMicros(Now() + d);
  }
  WriteState(seq, meta, absl::ToUnixMicros(log_time_ + d), batch);
  index_->Update(seq, meta);
}

void QueueStateMachine::ApplyChangeVisibility(
    const internal::ChangeVisibility& change, StateWriteBatch& batch,
    ApplyResult& result) {
  for (int i = 0; i < change.changes_size(); ++i) {
    const internal::VisibilityChange& c = change.changes(i);
    const absl::Duration timeout = Micros(c.timeout_micros());
    absl::Status s = ValidateVisibilityTimeout(
        absl::StrFormat("changes[%d].visibility_timeout", i), timeout);
    if (!s.ok()) {
      result.entries.push_back(s);
      continue;
    }
    absl::StatusOr<Meta> meta = CheckReceipt(c.receipt());
    if (!meta.ok()) {
      result.entries.push_back(meta.status());
      continue;
    }
    if (meta->logical() != MsgState::kLeased) {
      result.entries.push_back(absl::FailedPreconditionError(
          absl::StrFormat("receipt_handle: message %d is not in flight",
                          c.receipt().sequence())));
      continue;
    }
    if (c.undo_receive() && timeout == absl::ZeroDuration() &&
        meta->receive_count > 0) {
      --meta->receive_count;
      if (counters_.received_total() > 0) {
        counters_.set_received_total(counters_.received_total() - 1);
      }
      if (meta->receive_count == 0) {
        batch.Delete(
            keys_.Message(RecordKind::kFirstReceive, c.receipt().sequence()));
      }
    }
    Relet(c.receipt().sequence(), *meta, timeout, batch);
    result.entries.push_back(absl::OkStatus());
  }
}

void QueueStateMachine::ApplyNack(const internal::Nack& nack,
                                  StateWriteBatch& batch, ApplyResult& result) {
  for (int i = 0; i < nack.entries_size(); ++i) {
    const internal::NackEntry& n = nack.entries(i);
    absl::StatusOr<Meta> meta = CheckReceipt(n.receipt());
    if (!meta.ok()) {
      result.entries.push_back(meta.status());
      continue;
    }
    if (meta->logical() != MsgState::kLeased) {
      result.entries.push_back(absl::FailedPreconditionError(
          absl::StrFormat("receipt_handle: message %d is not in flight",
                          n.receipt().sequence())));
      continue;
    }
    absl::Duration delay = Backoff(meta->receive_count);
    if (n.has_delay_micros()) {
      delay = Micros(n.delay_micros());
      absl::Status s = ValidateVisibilityTimeout(
          absl::StrFormat("entries[%d].delay", i), delay);
      if (!s.ok()) {
        result.entries.push_back(s);
        continue;
      }
    }
    Relet(n.receipt().sequence(), *meta, delay, batch);
    result.entries.push_back(absl::OkStatus());
  }
}

void QueueStateMachine::ApplyCancelScheduled(
    const internal::CancelScheduled& cancel, StateWriteBatch& batch,
    ApplyResult& result) {
  for (uint64_t seq : cancel.sequences()) {
    const Meta* meta = index_->Find(seq);
    if (meta == nullptr) {
      result.entries.push_back(absl::FailedPreconditionError(
          absl::StrFormat("sequence: message %d does not exist", seq)));
      continue;
    }
    // Replicated state only: scheduled means sent with a delay and never
    // received (whether or not the delay has run out on some replica).
    if (meta->logical() != MsgState::kDelayed) {
      result.entries.push_back(absl::FailedPreconditionError(absl::StrFormat(
          "sequence: message %d is not scheduled (sent without delay, or "
          "received already)",
          seq)));
      continue;
    }
    DeleteMessage(seq, batch);
    result.entries.push_back(absl::OkStatus());
  }
}

}  // namespace sluice::broker
