// SendBatch: validation, idempotent producers, FIFO deduplication, and the
// records of a new message.
#include <algorithm>

#include "absl/strings/str_format.h"
#include "base/sha256.h"
#include "broker/queue/queue_state_machine.h"
#include "broker/queue/validation.h"

namespace sluice::broker {

void QueueStateMachine::ApplySend(const internal::SendBatch& send,
                                  StateWriteBatch& batch, ApplyResult& result) {
  const bool idempotent = !send.producer_id().empty();
  internal::StoredProducer* producer = nullptr;
  internal::StoredProducer fresh;
  if (idempotent) {
    auto it = producers_.find(send.producer_id());
    producer = it != producers_.end() ? &it->second : &fresh;
  }
  std::vector<std::pair<uint64_t, uint64_t>> applied;  // (producer seq, seq)
  uint64_t previous = 0;
  for (int i = 0; i < send.entries_size(); ++i) {
    const internal::SendEntry& entry = send.entries(i);
    if (idempotent) {
      const uint64_t ps = entry.producer_sequence() != 0
                              ? entry.producer_sequence()
                              : (send.first_producer_sequence() == 0
                                     ? 0
                                     : send.first_producer_sequence() + i);
      if (ps == 0 || ps <= previous) {
        result.sends.push_back({absl::InvalidArgumentError(absl::StrFormat(
                                    "entries[%d].producer_sequence: must be "
                                    "positive and increase along the batch",
                                    i)),
                                MessageSeq(0), false});
        continue;
      }
      previous = ps;
      if (ps <= producer->last_sequence()) {
        // Applied before: answer as then, if this is the last batch.
        SendResult dup{absl::OkStatus(), MessageSeq(0), true};
        const auto& seqs = producer->last_batch_sequences();
        auto pos = std::find(seqs.begin(), seqs.end(), ps);
        if (pos != seqs.end()) {
          const uint64_t seq = producer->last_batch_results(
              static_cast<int>(pos - seqs.begin()));
          if (seq == 0) {
            dup.status = absl::InvalidArgumentError(absl::StrFormat(
                "entries[%d]: rejected as invalid when first sent", i));
          }
          dup.seq = MessageSeq(seq);
        }
        result.sends.push_back(dup);
        continue;
      }
      SendResult r = SendOne(entry, i, batch);
      applied.emplace_back(ps, r.status.ok() ? r.seq.value() : 0);
      result.sends.push_back(std::move(r));
    } else {
      result.sends.push_back(SendOne(entry, i, batch));
    }
  }
  if (idempotent && !applied.empty()) {
    internal::StoredProducer updated;
    updated.set_last_sequence(applied.back().first);
    for (const auto& [ps, seq] : applied) {
      updated.add_last_batch_sequences(ps);
      updated.add_last_batch_results(seq);
    }
    updated.set_last_seen_micros(absl::ToUnixMicros(log_time_));
    producers_[send.producer_id()] = updated;
    batch.Put(keys_.Producer(send.producer_id()), updated.SerializeAsString());
  }
}

SendResult QueueStateMachine::SendOne(const internal::SendEntry& entry,
                                      int index, StateWriteBatch& batch) {
  const bool moved = entry.has_moved_from();
  internal::SendEntry checked_copy;
  const internal::SendEntry* checked = &entry;
  if (moved) {
    // A move is deduplicated by its producer (the source partition), not by
    // dedup id, and keeps the dedup id only as a record.
    checked_copy = entry;
    checked_copy.clear_dedup_id();
    if (!attributes_.fifo()) checked_copy.clear_group_id();
    checked = &checked_copy;
  }
  internal::QueueAttributes rules = attributes_;
  if (moved) rules.set_content_based_dedup(true);
  if (absl::Status s = ValidateSendEntry(*checked, rules, index); !s.ok()) {
    return {s, MessageSeq(0), false};
  }
  const int64_t now_log = absl::ToUnixMicros(log_time_);
  std::string dedup_key;
  // FIFO queues always deduplicate (by content without an id); standard
  // queues when the entry has a dedup id (beyond SQS; the group id is only
  // a label there, so it does not scope the id).
  if (!moved && (attributes_.fifo() || !entry.dedup_id().empty())) {
    const std::string dedup_id = entry.dedup_id().empty()
                                     ? Sha256::HexHash(entry.body())
                                     : entry.dedup_id();
    dedup_key =
        keys_.Dedup(attributes_.fifo() ? entry.group_id() : "", dedup_id);
    if (auto it = dedup_.find(dedup_key); it != dedup_.end()) {
      return {absl::OkStatus(), MessageSeq(it->second.seq), true};
    }
  }

  const uint64_t seq = std::max<uint64_t>(counters_.next_sequence(), 1);
  counters_.set_next_sequence(seq + 1);
  counters_.set_sent_total(counters_.sent_total() + 1);
  const absl::Duration delay =
      absl::Microseconds(entry.has_delay_micros() ? entry.delay_micros()
                                                  : attributes_.delay_micros());
  Meta meta;
  if (delay > absl::ZeroDuration()) {
    meta.state = static_cast<uint32_t>(MsgState::kDelayed);
    meta.deadline = absl::ToUnixMicros(Now() + delay);
  }
  if (attributes_.fifo()) meta.group = index_->InternGroup(entry.group_id());
  meta.bytes = static_cast<uint32_t>(entry.body().size());

  internal::StoredBody body;
  body.set_body(entry.body());
  *body.mutable_attributes() = entry.attributes();
  batch.Put(keys_.Message(RecordKind::kBody, seq), body.SerializeAsString());
  internal::StoredMessageMeta stored;
  stored.set_group_id(entry.group_id());
  stored.set_dedup_id(entry.dedup_id());
  stored.set_sent_micros(now_log);
  stored.set_body_size(static_cast<uint32_t>(entry.body().size()));
  if (moved) *stored.mutable_moved_from() = entry.moved_from();
  batch.Put(keys_.Message(RecordKind::kMeta, seq), stored.SerializeAsString());
  WriteState(seq, meta, now_log + absl::ToInt64Microseconds(delay), batch);
  index_->Insert(seq, meta, log_time_);

  if (!dedup_key.empty()) {
    dedup_[dedup_key] = {seq, now_log};
    dedup_order_.emplace_back(now_log, dedup_key);
    internal::StoredDedup record;
    record.set_sequence(seq);
    record.set_sent_micros(now_log);
    batch.Put(dedup_key, record.SerializeAsString());
  }
  return {absl::OkStatus(), MessageSeq(seq), false};
}

void QueueStateMachine::ExpireDedup(StateWriteBatch& batch) {
  const int64_t cutoff =
      absl::ToUnixMicros(log_time_) - attributes_.dedup_window_micros();
  while (!dedup_order_.empty() && dedup_order_.front().first <= cutoff) {
    const auto& [sent, key] = dedup_order_.front();
    auto it = dedup_.find(key);
    if (it != dedup_.end() && it->second.sent_micros == sent) {
      dedup_.erase(it);
      batch.Delete(key);
    }
    dedup_order_.pop_front();
  }
}

}  // namespace sluice::broker
