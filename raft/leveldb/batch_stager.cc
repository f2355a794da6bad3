#include "raft/leveldb/batch_stager.h"

#include <utility>

#include "raft/leveldb/keys.h"
#include "raft/leveldb/records.h"

namespace sluice::raft::ldb {
namespace {

leveldb::Slice ToSlice(absl::string_view s) {
  return leveldb::Slice(s.data(), s.size());
}

void DeleteEntries(GroupId group, const IndexRange& range,
                   leveldb::WriteBatch& out) {
  for (Index i = range.from; i <= range.to; ++i) {
    out.Delete(ToSlice(EntryKeyBuffer(group, i).view()));
  }
}

}  // namespace

const GroupLog& BatchStager::Current(GroupId group) {
  auto it = staged_.find(group);
  if (it == staged_.end()) {
    it = staged_.emplace(group, durable_->Get(group).first).first;
  }
  return it->second;
}

absl::Status BatchStager::Add(const PreparedRequest& request) {
  // Plans on copies, so that a refused request leaves staged_ and the batch
  // untouched. A group may appear more than once in a request: later parts
  // see the earlier ones.
  absl::flat_hash_map<GroupId, GroupLog> touched;
  std::vector<Plan> plans;
  plans.reserve(request.groups.size());
  for (const PreparedGroupWrite& write : request.groups) {
    auto it = touched.find(write.group);
    if (it == touched.end()) {
      it = touched.emplace(write.group, Current(write.group)).first;
    }
    absl::StatusOr<Plan> plan = PlanGroup(write, it->second);
    if (!plan.ok()) return plan.status();
    plans.push_back(*plan);
  }
  for (const Plan& plan : plans) Emit(plan);
  batch_->Append(request.extra);
  for (auto& [group, log] : touched) {
    staged_.insert_or_assign(group, std::move(log));
  }
  return absl::OkStatus();
}

absl::StatusOr<BatchStager::Plan> BatchStager::PlanGroup(
    const PreparedGroupWrite& write, GroupLog& log) {
  if (!log.damage().ok()) return log.damage();
  Plan plan;
  plan.write = &write;
  const Index old_start = log.start_index();
  if (write.snapshot.has_value()) {
    absl::StatusOr<IndexRange> discarded = log.InstallSnapshot(*write.snapshot);
    if (!discarded.ok()) return discarded.status();
    plan.discarded = *discarded;
  }
  if (!write.terms.empty()) {
    absl::StatusOr<IndexRange> truncated =
        log.Append(write.first_index, write.terms);
    if (!truncated.ok()) return truncated.status();
    plan.truncated = *truncated;
  }
  if (write.compact_to.has_value()) {
    absl::StatusOr<IndexRange> dropped = log.CompactTo(*write.compact_to);
    if (!dropped.ok()) return dropped.status();
    plan.dropped = *dropped;
  }
  if (write.hard_state.has_value()) log.SetHardState(*write.hard_state);
  plan.start_changed = log.start_index() != old_start;
  plan.start_index = log.start_index();
  plan.start_term = log.start_term();
  return plan;
}

void BatchStager::Emit(const Plan& plan) {
  // Order matters within the batch: a discarded log is deleted before the
  // new entries are put, compaction after (it may cover new entries).
  const PreparedGroupWrite& write = *plan.write;
  const GroupId group = write.group;
  DeleteEntries(group, plan.discarded, *batch_);
  if (write.snapshot.has_value()) {
    batch_->Put(SnapshotMetaKey(group), write.snapshot_record);
  }
  for (size_t i = 0; i < write.entry_records.size(); ++i) {
    batch_->Put(ToSlice(EntryKeyBuffer(group, write.first_index + i).view()),
                write.entry_records[i]);
  }
  DeleteEntries(group, plan.truncated, *batch_);
  DeleteEntries(group, plan.dropped, *batch_);
  if (plan.start_changed) {
    batch_->Put(LogStartKey(group),
                EncodeLogStart(group, {plan.start_index, plan.start_term}));
  }
  if (write.hard_state.has_value()) {
    batch_->Put(HardStateKey(group), write.hard_state_record);
  }
}

bool BatchStager::empty() const {
  static const size_t kEmptySize = leveldb::WriteBatch().ApproximateSize();
  return batch_->ApproximateSize() <= kEmptySize;
}

std::vector<GroupLog> BatchStager::TakeChanged() {
  std::vector<GroupLog> changed;
  changed.reserve(staged_.size());
  for (auto& [group, log] : staged_) changed.push_back(std::move(log));
  staged_.clear();
  return changed;
}

}  // namespace sluice::raft::ldb
