#include "raft/leveldb/durable_logs.h"

#include <algorithm>

#include "raft/leveldb/mutex_lock.h"

namespace sluice::raft::ldb {
namespace {

ReadSnapshot TakeSnapshot(leveldb::DB* db) {
  return ReadSnapshot(db->GetSnapshot(), [db](const leveldb::Snapshot* s) {
    db->ReleaseSnapshot(s);
  });
}

}  // namespace

DurableLogs::DurableLogs(leveldb::DB* db) : db_(db) {
  MutexLock lock(&mu_);
  snapshot_ = TakeSnapshot(db_);
}

void DurableLogs::Read(GroupId group,
                       absl::FunctionRef<void(const GroupLog&)> fn) const {
  MutexLock lock(&mu_);
  auto it = logs_.find(group);
  if (it != logs_.end()) {
    fn(it->second);
    return;
  }
  fn(GroupLog(group));
}

std::pair<GroupLog, ReadSnapshot> DurableLogs::Get(GroupId group) const {
  MutexLock lock(&mu_);
  auto it = logs_.find(group);
  return {it != logs_.end() ? it->second : GroupLog(group), snapshot_};
}

ReadSnapshot DurableLogs::Snapshot() const {
  MutexLock lock(&mu_);
  return snapshot_;
}

std::vector<GroupId> DurableLogs::Groups() const {
  std::vector<GroupId> groups;
  {
    MutexLock lock(&mu_);
    groups.reserve(logs_.size());
    for (const auto& [group, log] : logs_) groups.push_back(group);
  }
  std::sort(groups.begin(), groups.end());
  return groups;
}

void DurableLogs::Publish(std::vector<GroupLog> changed) {
  // Taken before the lock: the snapshot already covers the finished write,
  // and readers holding the old one keep a consistent (older) view.
  ReadSnapshot snapshot = TakeSnapshot(db_);
  MutexLock lock(&mu_);
  for (GroupLog& log : changed) {
    const GroupId group = log.group();
    logs_.insert_or_assign(group, std::move(log));
  }
  snapshot_ = std::move(snapshot);
}

}  // namespace sluice::raft::ldb
