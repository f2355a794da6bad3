// The host's own record of the groups it hosts: one LevelDB key per group,
// 'H' group:8 (big-endian) -> version byte 1, then the state machine kind.
// Written in the same batch that bootstraps (or joins) a group, deleted in
// the batch that removes it, so that a restart rebuilds exactly the groups
// this node still hosts, each with the right kind of state machine. (Raft
// records of a removed group stay behind: the storage writer has no
// "delete group" yet; the registry is what counts.)
//
// The 'H' (0x48) key space belongs to the host; queue partitions use 'Q'.
// Pure functions over the DB and batches; any thread.
#ifndef SLUICE_BROKER_HOST_GROUP_REGISTRY_H_
#define SLUICE_BROKER_HOST_GROUP_REGISTRY_H_

#include <string>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "leveldb/db.h"
#include "leveldb/write_batch.h"
#include "raft/types.h"

namespace sluice::broker {

inline constexpr char kHostKeyType = 'H';

std::string GroupRegistryKey(raft::GroupId group);
void PutGroupRecord(leveldb::WriteBatch& batch, raft::GroupId group,
                    const std::string& kind);
void DeleteGroupRecord(leveldb::WriteBatch& batch, raft::GroupId group);
// Every registered group and its kind, in group order.
absl::StatusOr<absl::btree_map<raft::GroupId, std::string>> LoadGroupRegistry(
    leveldb::DB* db);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_GROUP_REGISTRY_H_
