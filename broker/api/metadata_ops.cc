#include "broker/api/metadata_ops.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/host/host_errors.h"
#include "broker/meta/metadata_state_machine.h"
#include "broker/meta/placement.h"
#include "broker/meta/queue_config.h"
#include "broker/meta/queue_names.h"
#include "broker/partition/entry_status.h"
#include "google/protobuf/util/message_differencer.h"

namespace sluice::broker {
namespace {

using sluice::internal::ForwardRequest;
using sluice::internal::ForwardResponse;
using sluice::internal::MetadataCommand;
using sluice::internal::MetadataState;
using sluice::internal::QueueRecord;

const QueueRecord* Find(const MetadataState& state, const std::string& name) {
  for (const QueueRecord& q : state.queues()) {
    if (q.name() == name) return &q;
  }
  return nullptr;
}

absl::Status QueueNotFound(const std::string& name) {
  return WithReason(
      absl::NotFoundError(absl::StrCat("queue '", name, "' does not exist")),
      v1::ERROR_REASON_QUEUE_NOT_FOUND);
}

// The first attribute (field name) whose value differs; empty if none.
std::string FirstDifference(const v1::QueueAttributes& a,
                            const v1::QueueAttributes& b) {
  const auto* d = v1::QueueAttributes::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    google::protobuf::util::MessageDifferencer diff;
    std::vector<const google::protobuf::FieldDescriptor*> only = {f};
    if (!diff.CompareWithFields(a, b, only, only)) return f->name();
  }
  return "";
}

}  // namespace

absl::StatusOr<const MetadataState*> MetadataOps::LeaderState() {
  std::optional<GroupStatus> status = host_.StatusOf(kMetadataGroup);
  if (!status.has_value()) {
    return absl::UnavailableError("this node holds no metadata replica");
  }
  if (status->role != raft::Role::kLeader) {
    return WithReason(NotLeaderError(kMetadataGroup, status->leader),
                      status->leader == raft::kNoNode
                          ? v1::ERROR_REASON_NO_LEADER
                          : v1::ERROR_REASON_NOT_LEADER);
  }
  auto* sm = dynamic_cast<meta::MetadataStateMachine*>(
      host_.LocalStateMachine(kMetadataGroup));
  if (sm == nullptr) return absl::UnavailableError("metadata not open yet");
  return &sm->state();
}

void MetadataOps::Propose(
    MetadataCommand command,
    std::function<void(absl::StatusOr<QueueRecord>)> done) {
  if (command.log_time_micros() == 0) {
    command.set_log_time_micros(absl::ToUnixMicros(wall_clock_->Now()));
  }
  host_.Propose(kMetadataGroup, command.SerializeAsString(),
                [done = std::move(done)](absl::StatusOr<Applied> applied) {
                  if (!applied.ok()) return done(applied.status());
                  const meta::MetadataApplyResult* result =
                      meta::MetadataResult(applied->result);
                  if (result == nullptr) {
                    return done(absl::InternalError(
                        "the metadata state machine returned no result"));
                  }
                  if (!result->status.ok()) return done(result->status);
                  done(result->queue);
                });
}

void MetadataOps::Execute(const ForwardRequest& request, Done done) {
  switch (request.request_case()) {
    case ForwardRequest::kCreateQueue:
      return CreateQueue(request.create_queue(), std::move(done));
    case ForwardRequest::kUpdateQueue:
      return UpdateQueue(request.update_queue(), std::move(done));
    case ForwardRequest::kDeleteQueue:
      return DeleteQueue(request.delete_queue(), std::move(done));
    default:
      return done(absl::InvalidArgumentError(
          "forwarded request: not a metadata request"));
  }
}

void MetadataOps::CreateQueue(const v1::CreateQueueRequest& request,
                              Done done) {
  absl::StatusOr<bool> fifo = meta::ResolveFifo(request);
  if (!fifo.ok()) return done(fifo.status());
  if (absl::Status s =
          meta::ValidateQueueName(request.queue_name(), *fifo, "queue_name");
      !s.ok()) {
    return done(WithReason(s, v1::ERROR_REASON_UNSPECIFIED, "queue_name"));
  }
  const std::vector<uint64_t> nodes = view_.NodeIds();
  absl::StatusOr<v1::QueueAttributes> attributes = meta::ResolveAttributes(
      request.attributes(), *fifo, static_cast<uint32_t>(nodes.size()));
  if (!attributes.ok()) return done(attributes.status());
  if (absl::Status s = meta::ValidateTags(request.tags()); !s.ok()) {
    return done(s);
  }
  absl::StatusOr<const MetadataState*> state = LeaderState();
  if (!state.ok()) return done(state.status());
  if (const QueueRecord* existing = Find(**state, request.queue_name())) {
    const std::string differs =
        existing->attributes().fifo() != *fifo
            ? std::string("type")
            : FirstDifference(existing->public_attributes(), *attributes);
    if (!differs.empty()) {
      return done(WithReason(
          absl::AlreadyExistsError(absl::StrCat(
              "queue '", request.queue_name(),
              "' exists with other attributes (first difference: ", differs,
              ")")),
          v1::ERROR_REASON_QUEUE_EXISTS_WITH_DIFFERENT_ATTRIBUTES));
    }
    ForwardResponse out;
    *out.mutable_create_queue()->mutable_queue() =
        meta::ToPublicQueue(*existing);
    out.mutable_create_queue()->set_created(false);
    return done(std::move(out));
  }
  if (max_queues_ != 0 &&
      static_cast<uint32_t>((*state)->queues_size()) >= max_queues_) {
    return done(meta::TooManyQueues(max_queues_));
  }
  if (absl::Status s = meta::CheckDeadLetterQueue(
          *attributes, request.queue_name(), *fifo, **state);
      !s.ok()) {
    return done(s);
  }
  auto placement =
      meta::PlacePartitions(**state, nodes, attributes->partition_count(),
                            attributes->replication_factor());
  if (!placement.ok()) return done(placement.status());

  MetadataCommand command;
  command.mutable_create_queue()->set_max_queues(max_queues_);
  QueueRecord* queue = command.mutable_create_queue()->mutable_queue();
  queue->set_name(request.queue_name());
  *queue->mutable_attributes() =
      meta::ToInternalAttributes(*attributes, *fifo, request.queue_name());
  *queue->mutable_public_attributes() = *attributes;
  *queue->mutable_tags() = request.tags();
  for (auto& p : *placement) *queue->add_partitions() = std::move(p);
  const int64_t log_time = absl::ToUnixMicros(wall_clock_->Now());
  command.set_log_time_micros(log_time);
  Propose(std::move(command), [done, log_time](absl::StatusOr<QueueRecord> r) {
    if (!r.ok()) return done(r.status());
    ForwardResponse out;
    *out.mutable_create_queue()->mutable_queue() = meta::ToPublicQueue(*r);
    // A concurrent identical create may have won the race: then the record
    // is that one's.
    out.mutable_create_queue()->set_created(r->created_micros() == log_time);
    done(std::move(out));
  });
}

void MetadataOps::UpdateQueue(const v1::UpdateQueueRequest& request,
                              Done done) {
  absl::StatusOr<const MetadataState*> state = LeaderState();
  if (!state.ok()) return done(state.status());
  const QueueRecord* existing = Find(**state, request.queue_name());
  if (existing == nullptr) return done(QueueNotFound(request.queue_name()));
  const bool fifo = existing->attributes().fifo();
  bool replace_tags = false;
  absl::StatusOr<v1::QueueAttributes> next = meta::ApplyUpdate(
      existing->public_attributes(), fifo, request,
      static_cast<uint32_t>(view_.NodeIds().size()), &replace_tags);
  if (!next.ok()) return done(next.status());
  if (absl::Status s =
          meta::CheckDeadLetterQueue(*next, existing->name(), fifo, **state);
      !s.ok()) {
    return done(s);
  }
  MetadataCommand command;
  auto* update = command.mutable_update_queue();
  update->set_name(existing->name());
  *update->mutable_attributes() =
      meta::ToInternalAttributes(*next, fifo, existing->name());
  *update->mutable_public_attributes() = *next;
  update->set_replace_tags(replace_tags);
  if (replace_tags) *update->mutable_tags() = request.tags();
  Propose(std::move(command), [done](absl::StatusOr<QueueRecord> r) {
    if (!r.ok()) return done(r.status());
    ForwardResponse out;
    *out.mutable_update_queue()->mutable_queue() = meta::ToPublicQueue(*r);
    done(std::move(out));
  });
}

void MetadataOps::DeleteQueue(const v1::DeleteQueueRequest& request,
                              Done done) {
  absl::StatusOr<const MetadataState*> state = LeaderState();
  if (!state.ok()) return done(state.status());
  if (Find(**state, request.queue_name()) == nullptr) {
    return done(QueueNotFound(request.queue_name()));
  }
  std::vector<std::string> users;
  for (const QueueRecord& q : (*state)->queues()) {
    if (q.public_attributes().redrive_policy().dead_letter_queue_name() ==
        request.queue_name()) {
      users.push_back(q.name());
    }
  }
  if (!users.empty() && !request.force()) {
    return done(WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "queue '", request.queue_name(), "' is the dead-letter queue of: ",
            absl::StrJoin(users, ", "), "; set force to delete it anyway")),
        v1::ERROR_REASON_QUEUE_IN_USE_AS_DEAD_LETTER));
  }
  MetadataCommand command;
  command.mutable_delete_queue()->set_name(request.queue_name());
  Propose(std::move(command), [done](absl::StatusOr<QueueRecord> r) {
    if (!r.ok()) return done(r.status());
    ForwardResponse out;
    out.mutable_delete_queue();
    done(std::move(out));
  });
}

}  // namespace sluice::broker
