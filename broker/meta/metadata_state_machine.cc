#include "broker/meta/metadata_state_machine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/meta/queue_names.h"
#include "google/protobuf/util/message_differencer.h"
#include "leveldb/db.h"

namespace sluice::meta {
namespace {

using sluice::internal::MetadataCommand;
using sluice::internal::MetadataState;
using sluice::internal::QueueRecord;

// The one record of the metadata group: 'M' is this state machine's key
// space (raft/leveldb uses 0x00-0x01, queues 'Q', the host 'H').
constexpr std::string_view kStateKey = "M\x01state";

// Hands out one string once.
class OneChunkSource final : public broker::SnapshotSource {
 public:
  explicit OneChunkSource(std::string data) : data_(std::move(data)) {}
  absl::StatusOr<std::optional<std::string>> NextChunk(
      size_t /*max_bytes*/) override {
    if (done_) return std::optional<std::string>();
    done_ = true;
    return std::optional<std::string>(std::move(data_));
  }

 private:
  std::string data_;
  bool done_ = false;
};

}  // namespace

const MetadataApplyResult* MetadataResult(const std::any& result) {
  return std::any_cast<MetadataApplyResult>(&result);
}

absl::StatusOr<std::unique_ptr<MetadataStateMachine>>
MetadataStateMachine::Open(leveldb::DB* db) {
  std::unique_ptr<MetadataStateMachine> sm(new MetadataStateMachine(db));
  if (absl::Status s = sm->Load(); !s.ok()) return s;
  return sm;
}

absl::Status MetadataStateMachine::Load() {
  std::string value;
  leveldb::Status s =
      db_->Get(leveldb::ReadOptions(),
               leveldb::Slice(kStateKey.data(), kStateKey.size()), &value);
  state_.Clear();
  if (s.IsNotFound()) {
    state_.set_next_group_id(2);  // group 1 is this group
    return absl::OkStatus();
  }
  if (!s.ok())
    return absl::InternalError(absl::StrCat("metadata: ", s.ToString()));
  if (!state_.ParseFromString(value)) {
    return absl::DataLossError("metadata: the stored state does not parse");
  }
  return absl::OkStatus();
}

const QueueRecord* MetadataStateMachine::FindQueue(
    const std::string& name) const {
  for (const QueueRecord& q : state_.queues()) {
    if (q.name() == name) return &q;
  }
  return nullptr;
}

raft::Index MetadataStateMachine::LastApplied() const {
  return raft::Index(state_.applied_index());
}

std::any MetadataStateMachine::Apply(raft::Index index, std::string_view data,
                                     broker::StateWriteBatch& batch) {
  MetadataCommand command;
  MetadataApplyResult result;
  if (!command.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    result.status =
        absl::InvalidArgumentError("metadata: entry does not parse");
  } else {
    result = ApplyCommand(command);
  }
  state_.set_applied_index(index.value());
  batch.Put(kStateKey, state_.SerializeAsString());
  if (observer_) observer_(state_);
  return result;
}

MetadataApplyResult MetadataStateMachine::ApplyCommand(
    const MetadataCommand& command) {
  switch (command.command_case()) {
    case MetadataCommand::kCreateQueue:
      return CreateQueue(command.create_queue(), command.log_time_micros());
    case MetadataCommand::kDeleteQueue:
      return DeleteQueue(command.delete_queue());
    case MetadataCommand::kUpdateQueue:
      return UpdateQueue(command.update_queue(), command.log_time_micros());
    case MetadataCommand::kRegisterNodes:
      *state_.mutable_nodes() = command.register_nodes().nodes();
      return {};
    case MetadataCommand::COMMAND_NOT_SET:
      break;
  }
  return {absl::InvalidArgumentError("metadata: empty command"), {}};
}

MetadataApplyResult MetadataStateMachine::CreateQueue(
    const sluice::internal::CreateQueueCommand& c, int64_t log_time_micros) {
  const QueueRecord& wanted = c.queue();
  if (absl::Status s =
          ValidateQueueName(wanted.name(), wanted.attributes().fifo());
      !s.ok()) {
    return {s, {}};
  }
  if (wanted.partitions().empty()) {
    return {absl::InvalidArgumentError("partition_count: must be >= 1"), {}};
  }
  if (const QueueRecord* existing = FindQueue(wanted.name())) {
    // The same request again (a retry) gets the queue; another one is a
    // conflict, as in SQS.
    const bool same =
        existing->partitions_size() == wanted.partitions_size() &&
        google::protobuf::util::MessageDifferencer::Equals(
            existing->attributes(), wanted.attributes()) &&
        google::protobuf::util::MessageDifferencer::Equals(
            existing->public_attributes(), wanted.public_attributes());
    if (same) return {absl::OkStatus(), *existing};
    return {absl::AlreadyExistsError(absl::StrCat(
                "queue '", wanted.name(), "' exists with other attributes")),
            *existing};
  }
  // Checked after the retry case above: a retried create of an existing
  // queue still succeeds at the limit.
  if (c.max_queues() != 0 &&
      static_cast<uint32_t>(state_.queues_size()) >= c.max_queues()) {
    return {TooManyQueues(c.max_queues()), {}};
  }
  QueueRecord queue = wanted;
  queue.set_created_micros(log_time_micros);
  queue.set_updated_micros(log_time_micros);
  queue.set_queue_id(state_.next_group_id());
  for (auto& p : *queue.mutable_partitions()) {
    p.set_group_id(state_.next_group_id());
    state_.set_next_group_id(state_.next_group_id() + 1);
  }
  // Keep queues sorted by name (deterministic order for everyone).
  auto* queues = state_.mutable_queues();
  auto pos =
      std::lower_bound(queues->begin(), queues->end(), queue.name(),
                       [](const QueueRecord& q, const std::string& name) {
                         return q.name() < name;
                       });
  const int at = static_cast<int>(pos - queues->begin());
  *queues->Add() = queue;
  for (int i = queues->size() - 1; i > at; --i) queues->SwapElements(i, i - 1);
  return {absl::OkStatus(), queue};
}

MetadataApplyResult MetadataStateMachine::UpdateQueue(
    const sluice::internal::UpdateQueueCommand& c, int64_t log_time_micros) {
  for (QueueRecord& q : *state_.mutable_queues()) {
    if (q.name() != c.name()) continue;
    // Type and name stay; the rest of the attributes is replaced whole.
    sluice::internal::QueueAttributes attributes = c.attributes();
    attributes.set_fifo(q.attributes().fifo());
    attributes.set_name(q.name());
    *q.mutable_attributes() = std::move(attributes);
    sluice::v1::QueueAttributes public_attributes = c.public_attributes();
    public_attributes.set_partition_count(
        q.public_attributes().partition_count());
    public_attributes.set_replication_factor(
        q.public_attributes().replication_factor());
    *q.mutable_public_attributes() = std::move(public_attributes);
    if (c.replace_tags()) *q.mutable_tags() = c.tags();
    q.set_updated_micros(log_time_micros);
    return {absl::OkStatus(), q};
  }
  return {absl::NotFoundError(
              absl::StrCat("queue '", c.name(), "' does not exist")),
          {}};
}

MetadataApplyResult MetadataStateMachine::DeleteQueue(
    const sluice::internal::DeleteQueueCommand& c) {
  auto* queues = state_.mutable_queues();
  for (int i = 0; i < queues->size(); ++i) {
    if (queues->Get(i).name() != c.name()) continue;
    QueueRecord removed = queues->Get(i);
    queues->DeleteSubrange(i, 1);
    return {absl::OkStatus(), removed};
  }
  return {absl::NotFoundError(
              absl::StrCat("queue '", c.name(), "' does not exist")),
          {}};
}

absl::StatusOr<std::unique_ptr<broker::SnapshotSource>>
MetadataStateMachine::OpenSnapshot() {
  // What the DB holds: at least as new as the Raft snapshot it travels with.
  std::string value;
  leveldb::Status s =
      db_->Get(leveldb::ReadOptions(),
               leveldb::Slice(kStateKey.data(), kStateKey.size()), &value);
  if (s.IsNotFound()) {
    MetadataState empty;
    empty.set_next_group_id(2);
    value = empty.SerializeAsString();
  } else if (!s.ok()) {
    return absl::InternalError(
        absl::StrCat("metadata snapshot: ", s.ToString()));
  }
  return std::unique_ptr<broker::SnapshotSource>(
      new OneChunkSource(std::move(value)));
}

absl::Status MetadataStateMachine::CheckSnapshot(std::string_view data) const {
  MetadataState restored;
  if (!restored.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return absl::DataLossError("metadata snapshot does not parse");
  }
  return absl::OkStatus();
}

absl::Status MetadataStateMachine::PrepareRestore(
    std::string_view data, broker::StateWriteBatch& batch) {
  MetadataState restored;
  if (!restored.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return absl::DataLossError("metadata snapshot does not parse");
  }
  batch.Put(kStateKey, data);
  return absl::OkStatus();
}

absl::Status MetadataStateMachine::FinishRestore() {
  if (absl::Status s = Load(); !s.ok()) return s;
  if (observer_) observer_(state_);
  return absl::OkStatus();
}

absl::Status MetadataStateMachine::Destroy(broker::StateWriteBatch& batch) {
  batch.Delete(kStateKey);
  state_.Clear();
  return absl::OkStatus();
}

}  // namespace sluice::meta
