#include "broker/host/queue_partition.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/queue/keys.h"
#include "broker/queue/snapshot.h"

namespace sluice::broker {
namespace {

constexpr size_t kFrameHeader = 4;

void AppendFrameLength(std::string* out, uint32_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((n >> shift) & 0xFF));
  }
}

uint32_t ReadFrameLength(const char* p) {
  uint32_t n = 0;
  for (size_t i = 0; i < kFrameHeader; ++i) {
    n = (n << 8) | static_cast<uint8_t>(p[i]);
  }
  return n;
}

// Emits each queue snapshot chunk as one length-framed piece.
class QueueSnapshotSource final : public SnapshotSource {
 public:
  QueueSnapshotSource(leveldb::DB* db, std::string prefix)
      : reader_(db, std::move(prefix)) {}

  absl::StatusOr<std::optional<std::string>> NextChunk(
      size_t max_bytes) override {
    absl::StatusOr<std::optional<std::string>> chunk =
        reader_.NextChunk(max_bytes);
    if (!chunk.ok() || !chunk->has_value()) return chunk;
    std::string framed;
    framed.reserve(kFrameHeader + (*chunk)->size());
    AppendFrameLength(&framed, static_cast<uint32_t>((*chunk)->size()));
    framed.append(**chunk);
    return framed;
  }

 private:
  SnapshotReader reader_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<QueuePartition>> QueuePartition::Open(
    raft::GroupId group, leveldb::DB* db, const Clock* clock) {
  QueueOptions options;
  options.partition = PartitionId(group.value());
  options.key_prefix = QueueKeyPrefix(group.value());
  options.db = db;
  options.clock = clock;
  absl::StatusOr<std::unique_ptr<QueueStateMachine>> queue =
      QueueStateMachine::Open(options);
  if (!queue.ok()) return queue.status();
  return std::unique_ptr<QueuePartition>(
      new QueuePartition(std::move(options), *std::move(queue)));
}

raft::Index QueuePartition::LastApplied() const {
  return raft::Index(queue_->last_applied_index());
}

std::any QueuePartition::Apply(raft::Index index, std::string_view data,
                               StateWriteBatch& batch) {
  internal::Command command;
  if (!command.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    ApplyResult bad;
    bad.status = absl::InvalidArgumentError(
        absl::StrCat("partition ", options_.partition.value(), " index ",
                     index.value(), ": entry is not a queue command"));
    return bad;
  }
  return queue_->Apply(command, index.value(), batch);
}

absl::StatusOr<std::unique_ptr<SnapshotSource>> QueuePartition::OpenSnapshot() {
  return std::make_unique<QueueSnapshotSource>(options_.db,
                                               options_.key_prefix);
}

namespace {

// Calls `chunk` with each length-framed chunk of a snapshot's data.
template <typename Fn>
absl::Status ForEachChunk(std::string_view data, Fn chunk) {
  while (!data.empty()) {
    if (data.size() < kFrameHeader) {
      return absl::DataLossError("queue snapshot: torn frame header");
    }
    const uint32_t n = ReadFrameLength(data.data());
    data.remove_prefix(kFrameHeader);
    if (data.size() < n) {
      return absl::DataLossError("queue snapshot: torn frame");
    }
    if (absl::Status s = chunk(data.substr(0, n)); !s.ok()) return s;
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status QueuePartition::CheckSnapshot(std::string_view data) const {
  RestoreCheck check;
  if (absl::Status s = ForEachChunk(
          data,
          [&](std::string_view chunk) { return CheckChunk(chunk, check); });
      !s.ok()) {
    return s;
  }
  return check.Finish();
}

absl::Status QueuePartition::PrepareRestore(std::string_view data,
                                            StateWriteBatch& batch) {
  if (absl::Status s = ClearPartition(options_.db, options_.key_prefix, batch);
      !s.ok()) {
    return s;
  }
  // The host checked the data (CheckSnapshot) before Raft installed it;
  // checked again here, in the same pass, so that nothing FinishRestore
  // cannot load is ever accepted.
  RestoreCheck check;
  if (absl::Status s = ForEachChunk(
          data,
          [&](std::string_view chunk) {
            return RestoreChunk(chunk, options_.key_prefix, batch, &check);
          });
      !s.ok()) {
    return s;
  }
  return check.Finish();
}

absl::Status QueuePartition::FinishRestore() {
  absl::StatusOr<std::unique_ptr<QueueStateMachine>> queue =
      QueueStateMachine::Open(options_);
  if (!queue.ok()) return queue.status();
  queue_ = *std::move(queue);
  return absl::OkStatus();
}

absl::Status QueuePartition::Destroy(StateWriteBatch& batch) {
  return ClearPartition(options_.db, options_.key_prefix, batch);
}

absl::StatusOr<bool> QueuePartition::DestroySome(StateWriteBatch& batch,
                                                 size_t max_records) {
  return ClearPartitionFrom(options_.db, options_.key_prefix, max_records,
                            destroy_cursor_, batch);
}

const ApplyResult* QueueApplyResult(const std::any& result) {
  return std::any_cast<ApplyResult>(&result);
}

}  // namespace sluice::broker
