// QueueStateMachine: opening (index rebuild), the Apply dispatch, record
// writes and queries. The commands themselves are in apply_*.cc.
#include "broker/queue/queue_state_machine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/logging.h"
#include "broker/queue/queue_attributes.h"
#include "broker/queue/receipt_handle.h"

namespace sluice::broker {
namespace {

leveldb::Slice ToSlice(const std::string& s) {
  return leveldb::Slice(s.data(), s.size());
}

absl::Status FromLevelDb(const leveldb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound()) return absl::NotFoundError(what);
  if (s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat(what, ": ", s.ToString()));
  }
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

}  // namespace

QueueStateMachine::QueueStateMachine(QueueOptions options)
    : options_(std::move(options)),
      keys_(options_.key_prefix),
      attributes_(DefaultQueueAttributes()),
      index_(std::make_unique<MessageIndex>(false)) {}

absl::StatusOr<std::unique_ptr<QueueStateMachine>> QueueStateMachine::Open(
    QueueOptions options) {
  if (options.db == nullptr || options.clock == nullptr) {
    return absl::InvalidArgumentError("QueueOptions: db and clock required");
  }
  std::unique_ptr<QueueStateMachine> sm(
      new QueueStateMachine(std::move(options)));
  if (absl::Status s = sm->Load(); !s.ok()) return s;
  return sm;
}

absl::Status QueueStateMachine::Load() {
  leveldb::DB* db = options_.db;
  std::string value;
  leveldb::Status s =
      db->Get(leveldb::ReadOptions(), keys_.Kind(RecordKind::kConfig), &value);
  if (s.ok()) {
    if (!attributes_.ParseFromString(value)) {
      return absl::DataLossError("queue attributes record");
    }
    configured_ = true;
  } else if (!s.IsNotFound()) {
    return FromLevelDb(s, "queue attributes record");
  }
  s = db->Get(leveldb::ReadOptions(), keys_.Kind(RecordKind::kCounters),
              &value);
  if (s.ok()) {
    if (!counters_.ParseFromString(value)) {
      return absl::DataLossError("queue counters record");
    }
  } else if (!s.IsNotFound()) {
    return FromLevelDb(s, "queue counters record");
  }
  log_time_ = absl::FromUnixMicros(counters_.last_log_time_micros());
  index_ = std::make_unique<MessageIndex>(attributes_.fifo());

  // Messages: 'm' and 's' records side by side, both in sequence order.
  // Deadlines restart from now with what log time says remains (never
  // earlier than the leader's, see README.md).
  const absl::Time now = Now();
  std::unique_ptr<leveldb::Iterator> im(
      db->NewIterator(leveldb::ReadOptions()));
  std::unique_ptr<leveldb::Iterator> is(
      db->NewIterator(leveldb::ReadOptions()));
  const std::string m_start = keys_.Kind(RecordKind::kMeta);
  const std::string s_start = keys_.Kind(RecordKind::kState);
  is->Seek(ToSlice(s_start));
  for (im->Seek(ToSlice(m_start)); im->Valid(); im->Next()) {
    const std::string_view mkey(im->key().data(), im->key().size());
    std::optional<uint64_t> seq = keys_.ParseMessage(RecordKind::kMeta, mkey);
    if (!seq.has_value()) break;
    std::optional<uint64_t> sseq;
    if (is->Valid()) {
      sseq = keys_.ParseMessage(
          RecordKind::kState,
          std::string_view(is->key().data(), is->key().size()));
    }
    if (sseq != seq) {
      return absl::DataLossError(
          absl::StrFormat("message %d: meta and state records disagree", *seq));
    }
    internal::StoredMessageMeta meta;
    internal::StoredMessageState state;
    if (!meta.ParseFromArray(im->value().data(), im->value().size()) ||
        !state.ParseFromArray(is->value().data(), is->value().size())) {
      return absl::DataLossError(
          absl::StrFormat("message %d: unreadable record", *seq));
    }
    is->Next();
    Meta m;
    m.receive_count = std::min(state.receive_count(), kReceiveCountCap);
    m.state = static_cast<uint32_t>(state.state());
    m.bytes = meta.body_size();
    if (attributes_.fifo() && state.state() != internal::STORED_STATE_OUTBOX) {
      m.group = index_->InternGroup(meta.group_id());
    }
    if (state.state() == internal::STORED_STATE_DELAYED ||
        state.state() == internal::STORED_STATE_LEASED) {
      const absl::Duration remaining =
          absl::FromUnixMicros(state.visible_after_micros()) - log_time_;
      m.deadline =
          absl::ToUnixMicros(now + std::max(remaining, absl::ZeroDuration()));
    }
    if (state.state() == internal::STORED_STATE_OUTBOX) {
      outbox_[state.move_sequence()] = {*seq, state.destination()};
      outbox_move_seq_[*seq] = state.move_sequence();
    }
    index_->Insert(*seq, m, absl::FromUnixMicros(meta.sent_micros()));
  }
  if (!im->status().ok()) return FromLevelDb(im->status(), "message records");

  // Producers, dedup ids, redrive task.
  std::unique_ptr<leveldb::Iterator> it(
      db->NewIterator(leveldb::ReadOptions()));
  const std::string p_start = keys_.Kind(RecordKind::kProducer);
  for (it->Seek(ToSlice(p_start));
       it->Valid() && it->key().starts_with(ToSlice(p_start)); it->Next()) {
    internal::StoredProducer producer;
    if (!producer.ParseFromArray(it->value().data(), it->value().size())) {
      return absl::DataLossError("producer record");
    }
    producers_[it->key().ToString().substr(p_start.size())] = producer;
  }
  const std::string d_start = keys_.Kind(RecordKind::kDedup);
  std::vector<std::pair<int64_t, std::string>> order;
  for (it->Seek(ToSlice(d_start));
       it->Valid() && it->key().starts_with(ToSlice(d_start)); it->Next()) {
    internal::StoredDedup dedup;
    if (!dedup.ParseFromArray(it->value().data(), it->value().size())) {
      return absl::DataLossError("dedup record");
    }
    dedup_[it->key().ToString()] = {dedup.sequence(), dedup.sent_micros()};
    order.emplace_back(dedup.sent_micros(), it->key().ToString());
  }
  std::sort(order.begin(), order.end());
  dedup_order_.assign(order.begin(), order.end());
  s = db->Get(leveldb::ReadOptions(), keys_.Kind(RecordKind::kRedrive), &value);
  if (s.ok()) {
    internal::StoredRedrive redrive;
    if (!redrive.ParseFromString(value)) {
      return absl::DataLossError("redrive record");
    }
    redrive_ = redrive;
  } else if (!s.IsNotFound()) {
    return FromLevelDb(s, "redrive record");
  }
  return absl::OkStatus();
}

ApplyResult QueueStateMachine::Apply(const internal::Command& command,
                                     uint64_t log_index,
                                     StateWriteBatch& batch) {
  SLUICE_CHECK(log_index > counters_.last_applied_index())
      << "partition " << options_.partition << " applied index "
      << counters_.last_applied_index() << " then " << log_index;
  // Log time never goes back along the log; a leader whose clock did is
  // clamped, the same way on every replica.
  log_time_ =
      std::max(log_time_, absl::FromUnixMicros(command.log_time_micros()));
  ApplyResult result;
  ExpireDedup(batch);
  using C = internal::Command;
  switch (command.kind_case()) {
    case C::kSetAttributes:
      ApplySetAttributes(command.set_attributes(), batch, result);
      break;
    case C::kSend:
      ApplySend(command.send(), batch, result);
      break;
    case C::kGrant:
      ApplyGrant(command.grant(), batch, result);
      break;
    case C::kDelete:
      ApplyDelete(command.delete_(), batch, result);
      break;
    case C::kChangeVisibility:
      ApplyChangeVisibility(command.change_visibility(), batch, result);
      break;
    case C::kNack:
      ApplyNack(command.nack(), batch, result);
      break;
    case C::kMoveToDeadLetter:
      ApplyMoveToDeadLetter(command.move_to_dead_letter(), batch, result);
      break;
    case C::kMoveDone:
      ApplyMoveDone(command.move_done(), batch, result);
      break;
    case C::kStartRedrive:
      ApplyStartRedrive(command.start_redrive(), batch, result);
      break;
    case C::kCancelRedrive:
      ApplyCancelRedrive(batch);
      break;
    case C::kRedriveMove:
      ApplyRedriveMove(command.redrive_move(), batch, result);
      break;
    case C::kPurge:
      ApplyPurge(command.purge(), batch, result);
      break;
    case C::kExpireRetention:
      ApplyExpireRetention(command.expire_retention(), batch, result);
      break;
    case C::kCancelScheduled:
      ApplyCancelScheduled(command.cancel_scheduled(), batch, result);
      break;
    case C::KIND_NOT_SET:
      result.status = absl::InvalidArgumentError("command: no kind set");
      break;
  }
  counters_.set_last_applied_index(log_index);
  counters_.set_last_log_time_micros(absl::ToUnixMicros(log_time_));
  WriteCounters(batch);
  return result;
}

void QueueStateMachine::ApplySetAttributes(
    const internal::SetQueueAttributes& set, StateWriteBatch& batch,
    ApplyResult& result) {
  const bool first = !configured_;
  if (first && set.attributes().fifo() && index_->size() > 0) {
    result.status = absl::InvalidArgumentError(
        "fifo: the partition already holds standard messages");
    return;
  }
  result.status = MergeQueueAttributes(set, first, &attributes_);
  if (!result.status.ok()) return;
  if (first && attributes_.fifo() != index_->fifo()) {
    index_ = std::make_unique<MessageIndex>(attributes_.fifo());
  }
  configured_ = true;
  batch.Put(keys_.Kind(RecordKind::kConfig), attributes_.SerializeAsString());
}

void QueueStateMachine::WriteState(uint64_t seq, const Meta& meta,
                                   int64_t visible_after,
                                   StateWriteBatch& batch,
                                   const std::string& destination,
                                   uint64_t move_sequence) {
  internal::StoredMessageState state;
  state.set_state(static_cast<internal::StoredState>(meta.state));
  state.set_receive_count(meta.receive_count);
  if (meta.logical() == MsgState::kDelayed ||
      meta.logical() == MsgState::kLeased) {
    state.set_visible_after_micros(visible_after);
  }
  state.set_destination(destination);
  state.set_move_sequence(move_sequence);
  batch.Put(keys_.Message(RecordKind::kState, seq), state.SerializeAsString());
}

void QueueStateMachine::DeleteMessage(uint64_t seq, StateWriteBatch& batch) {
  for (RecordKind kind : {RecordKind::kBody, RecordKind::kMeta,
                          RecordKind::kState, RecordKind::kFirstReceive}) {
    batch.Delete(keys_.Message(kind, seq));
  }
  if (auto it = outbox_move_seq_.find(seq); it != outbox_move_seq_.end()) {
    outbox_.erase(it->second);
    outbox_move_seq_.erase(it);
  }
  index_->Erase(seq);
}

void QueueStateMachine::WriteCounters(StateWriteBatch& batch) {
  batch.Put(keys_.Kind(RecordKind::kCounters), counters_.SerializeAsString());
}

absl::StatusOr<StoredMessage> QueueStateMachine::ReadMessage(
    MessageSeq seq, const leveldb::Snapshot* snapshot) const {
  leveldb::ReadOptions options;
  options.snapshot = snapshot;
  StoredMessage out;
  out.seq = seq;
  std::string value;
  const std::string what = absl::StrCat("message ", seq.value());
  leveldb::Status s = options_.db->Get(
      options, keys_.Message(RecordKind::kBody, seq.value()), &value);
  if (!s.ok()) return FromLevelDb(s, what);
  if (!out.body.ParseFromString(value)) return absl::DataLossError(what);
  s = options_.db->Get(options, keys_.Message(RecordKind::kMeta, seq.value()),
                       &value);
  if (!s.ok()) return FromLevelDb(s, what);
  if (!out.meta.ParseFromString(value)) return absl::DataLossError(what);
  s = options_.db->Get(options, keys_.Message(RecordKind::kState, seq.value()),
                       &value);
  if (!s.ok()) return FromLevelDb(s, what);
  if (!out.state.ParseFromString(value)) return absl::DataLossError(what);
  s = options_.db->Get(
      options, keys_.Message(RecordKind::kFirstReceive, seq.value()), &value);
  if (s.ok()) {
    internal::StoredFirstReceive first;
    if (!first.ParseFromString(value)) return absl::DataLossError(what);
    out.first_receive = absl::FromUnixMicros(first.first_receive_micros());
  } else if (!s.IsNotFound()) {
    return FromLevelDb(s, what);
  }
  return out;
}

std::vector<MessageSeq> QueueStateMachine::Peek(MessageSeq after, size_t max) {
  index_->AdvanceTo(Now());
  std::vector<MessageSeq> out;
  for (uint64_t seq : index_->Browse(after.value(), max)) {
    out.push_back(MessageSeq(seq));
  }
  return out;
}

std::vector<OutboxEntry> QueueStateMachine::Outbox(size_t max) const {
  std::vector<OutboxEntry> out;
  for (const auto& [move_seq, item] : outbox_) {
    if (out.size() >= max) break;
    out.push_back({MessageSeq(item.seq), move_seq, item.destination});
  }
  return out;
}

QueueStats QueueStateMachine::Stats(absl::Time wall_now) {
  index_->AdvanceTo(Now());
  QueueStats stats;
  const IndexCounts& c = index_->counts();
  stats.visible = c.visible;
  stats.in_flight = c.in_flight;
  stats.delayed = c.delayed;
  stats.outbox = c.outbox;
  stats.stored_bytes = index_->stored_bytes();
  if (std::optional<absl::Time> oldest = index_->OldestSent()) {
    stats.oldest_age = std::max(wall_now - *oldest, absl::ZeroDuration());
  }
  stats.groups = index_->group_count();
  stats.ready_groups = index_->ready_group_count();
  return stats;
}

std::optional<MessageIndex::GroupCounts> QueueStateMachine::GroupStats(
    std::string_view group) {
  index_->AdvanceTo(Now());
  return index_->CountsOfGroup(group);
}

RedriveProgress QueueStateMachine::Redrive() const {
  RedriveProgress p;
  if (!redrive_.has_value()) return p;
  p.running = !redrive_->completed();
  p.completed = redrive_->completed();
  p.destination = redrive_->destination();
  p.moved = redrive_->moved();
  p.started_with = redrive_->started_with();
  return p;
}

std::string QueueStateMachine::MoveProducerId() const {
  return absl::StrCat("move:", attributes_.name(), "/",
                      options_.partition.value());
}

}  // namespace sluice::broker
