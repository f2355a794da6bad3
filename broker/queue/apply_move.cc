// Messages leaving: dead-letter moves, redrive, the outbox, purge and
// retention.
#include <algorithm>

#include "absl/strings/str_format.h"
#include "broker/queue/queue_attributes.h"
#include "broker/queue/queue_state_machine.h"

namespace sluice::broker {

void QueueStateMachine::ToOutbox(uint64_t seq, Meta meta,
                                 const std::string& destination,
                                 StateWriteBatch& batch) {
  const uint64_t move_seq =
      std::max<uint64_t>(counters_.next_move_sequence(), 1);
  counters_.set_next_move_sequence(move_seq + 1);
  meta.state = static_cast<uint32_t>(MsgState::kOutbox);
  meta.due = 0;
  meta.reserved = 0;
  meta.deadline = 0;
  WriteState(seq, meta, 0, batch, destination, move_seq);
  index_->Update(seq, meta);
  outbox_[move_seq] = {seq, destination};
  outbox_move_seq_[seq] = move_seq;
}

namespace {

absl::Status CheckMovable(const Meta* meta, const internal::LeaseGrant& m) {
  if (meta == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrFormat("sequence: message %d does not exist", m.sequence()));
  }
  if (meta->logical() == MsgState::kOutbox) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "sequence: message %d is moving already", m.sequence()));
  }
  if (meta->receive_count != m.expected_receive_count()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "sequence: message %d was received again since", m.sequence()));
  }
  return absl::OkStatus();
}

}  // namespace

void QueueStateMachine::ApplyMoveToDeadLetter(
    const internal::MoveToDeadLetter& move, StateWriteBatch& batch,
    ApplyResult& result) {
  for (const internal::LeaseGrant& m : move.messages()) {
    if (!attributes_.has_redrive_policy()) {
      result.entries.push_back(
          absl::FailedPreconditionError("redrive_policy: none set"));
      continue;
    }
    const Meta* meta = index_->Find(m.sequence());
    absl::Status s = CheckMovable(meta, m);
    if (s.ok() && meta->receive_count <
                      attributes_.redrive_policy().max_receive_count()) {
      s = absl::FailedPreconditionError(absl::StrFormat(
          "sequence: message %d has not reached max_receive_count",
          m.sequence()));
    }
    if (s.ok()) {
      ToOutbox(m.sequence(), *meta,
               attributes_.redrive_policy().dead_letter_target(), batch);
      counters_.set_dead_lettered_total(counters_.dead_lettered_total() + 1);
    }
    result.entries.push_back(s);
  }
}

void QueueStateMachine::ApplyMoveDone(const internal::MoveDone& done,
                                      StateWriteBatch& batch,
                                      ApplyResult& result) {
  for (uint64_t seq : done.sequences()) {
    const Meta* meta = index_->Find(seq);
    if (meta == nullptr) {
      result.entries.push_back(absl::OkStatus());  // done already
      continue;
    }
    if (meta->logical() != MsgState::kOutbox) {
      result.entries.push_back(absl::FailedPreconditionError(
          absl::StrFormat("sequences: message %d is not in the outbox", seq)));
      continue;
    }
    DeleteMessage(seq, batch);
    result.entries.push_back(absl::OkStatus());
  }
}

void QueueStateMachine::ApplyStartRedrive(const internal::StartRedrive& start,
                                          StateWriteBatch& batch,
                                          ApplyResult& result) {
  if (start.destination().empty()) {
    result.status =
        absl::InvalidArgumentError("destination: must name a queue");
    return;
  }
  if (redrive_.has_value() && !redrive_->completed()) {
    result.status = absl::FailedPreconditionError(
        "redrive: a task is running; cancel it first");
    return;
  }
  internal::StoredRedrive task;
  task.set_destination(start.destination());
  task.set_max_per_second(start.max_per_second());
  task.set_started_with(index_->size() - index_->counts().outbox);
  redrive_ = task;
  redrive_tokens_ = 0;
  redrive_refilled_ = absl::InfinitePast();
  batch.Put(keys_.Kind(RecordKind::kRedrive), task.SerializeAsString());
}

void QueueStateMachine::ApplyCancelRedrive(StateWriteBatch& batch) {
  redrive_.reset();
  batch.Delete(keys_.Kind(RecordKind::kRedrive));
}

void QueueStateMachine::ApplyRedriveMove(const internal::RedriveMove& move,
                                         StateWriteBatch& batch,
                                         ApplyResult& result) {
  if (!redrive_.has_value() || redrive_->completed()) {
    result.status = absl::FailedPreconditionError("redrive: no task running");
    return;
  }
  for (const internal::LeaseGrant& m : move.messages()) {
    const Meta* meta = index_->Find(m.sequence());
    absl::Status s = CheckMovable(meta, m);
    if (s.ok()) {
      ToOutbox(m.sequence(), *meta, redrive_->destination(), batch);
      redrive_->set_moved(redrive_->moved() + 1);
    }
    result.entries.push_back(s);
  }
  if (index_->size() == index_->counts().outbox) redrive_->set_completed(true);
  batch.Put(keys_.Kind(RecordKind::kRedrive), redrive_->SerializeAsString());
}

void QueueStateMachine::ApplyPurge(const internal::Purge& purge,
                                   StateWriteBatch& batch,
                                   ApplyResult& result) {
  const uint64_t below = purge.below_sequence() != 0
                             ? purge.below_sequence()
                             : std::max<uint64_t>(counters_.next_sequence(), 1);
  const size_t max =
      purge.max_messages() != 0 ? purge.max_messages() : SIZE_MAX;
  std::vector<uint64_t> doomed;
  for (const auto& [seq, meta] : index_->messages()) {
    if (seq >= below) break;
    if (doomed.size() == max) {
      result.more = true;
      break;
    }
    doomed.push_back(seq);
  }
  for (uint64_t seq : doomed) DeleteMessage(seq, batch);
  counters_.set_purged_total(counters_.purged_total() + doomed.size());
  result.purge_below = MessageSeq(below);
  result.removed = doomed.size();
}

std::optional<absl::Time> QueueStateMachine::NextRetentionDue() const {
  std::optional<absl::Time> oldest = index_->OldestSent();
  for (const auto& [id, producer] : producers_) {
    const absl::Time seen = absl::FromUnixMicros(producer.last_seen_micros());
    if (!oldest.has_value() || seen < *oldest) oldest = seen;
  }
  if (!oldest.has_value()) return std::nullopt;
  return *oldest + Micros(attributes_.retention_micros());
}

void QueueStateMachine::ApplyExpireRetention(
    const internal::ExpireRetention& expire, StateWriteBatch& batch,
    ApplyResult& result) {
  const absl::Time cutoff = log_time_ - Micros(attributes_.retention_micros());
  const size_t max =
      expire.max_messages() != 0 ? expire.max_messages() : SIZE_MAX - 1;
  std::vector<uint64_t> expired = index_->SentBefore(cutoff, max + 1);
  if (expired.size() > max) {
    expired.resize(max);
    result.more = true;
  }
  for (uint64_t seq : expired) DeleteMessage(seq, batch);
  counters_.set_expired_total(counters_.expired_total() + expired.size());
  result.removed = expired.size();
  // Producers idle for longer than the retention period are forgotten.
  const int64_t cutoff_us = absl::ToUnixMicros(cutoff);
  std::vector<std::string> idle;
  for (const auto& [id, producer] : producers_) {
    if (producer.last_seen_micros() < cutoff_us) idle.push_back(id);
  }
  std::sort(idle.begin(), idle.end());
  for (const std::string& id : idle) {
    producers_.erase(id);
    batch.Delete(keys_.Producer(id));
  }
}

}  // namespace sluice::broker
