#include "broker/host/group_registry.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "broker/queue/keys.h"

namespace sluice::broker {
namespace {

constexpr char kRecordVersion = 1;
constexpr size_t kKeySize = 1 + 8;

}  // namespace

std::string GroupRegistryKey(raft::GroupId group) {
  std::string key(1, kHostKeyType);
  AppendBigEndian64(&key, group.value());
  return key;
}

void PutGroupRecord(leveldb::WriteBatch& batch, raft::GroupId group,
                    const std::string& kind) {
  std::string value(1, kRecordVersion);
  value.append(kind);
  batch.Put(GroupRegistryKey(group), value);
}

void DeleteGroupRecord(leveldb::WriteBatch& batch, raft::GroupId group) {
  batch.Delete(GroupRegistryKey(group));
}

absl::StatusOr<absl::btree_map<raft::GroupId, std::string>> LoadGroupRegistry(
    leveldb::DB* db) {
  absl::btree_map<raft::GroupId, std::string> groups;
  std::unique_ptr<leveldb::Iterator> it(
      db->NewIterator(leveldb::ReadOptions()));
  const std::string start(1, kHostKeyType);
  for (it->Seek(start); it->Valid(); it->Next()) {
    const leveldb::Slice key = it->key();
    if (key.empty() || key[0] != kHostKeyType) break;
    const leveldb::Slice value = it->value();
    if (key.size() != kKeySize || value.empty() || value[0] != kRecordVersion) {
      return absl::DataLossError(
          absl::StrCat("host group registry: bad record of ", key.size(),
                       " key bytes and ", value.size(), " value bytes"));
    }
    groups[raft::GroupId(ReadBigEndian64(key.data() + 1))] =
        std::string(value.data() + 1, value.size() - 1);
  }
  if (!it->status().ok()) {
    return absl::DataLossError(
        absl::StrCat("host group registry: ", it->status().ToString()));
  }
  return groups;
}

}  // namespace sluice::broker
