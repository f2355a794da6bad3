#include "raft/leveldb/raft_db.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/leveldb/keys.h"
#include "raft/leveldb/mutex_lock.h"
#include "raft/leveldb/recovery.h"

namespace sluice::raft {
namespace {

constexpr char kFormatVersion[] = "sluice-raft-1";

// Writes the format record of a new DB, or checks the one found.
absl::Status CheckFormat(leveldb::DB* db) {
  std::string stored;
  leveldb::Status read =
      db->Get(leveldb::ReadOptions(), ldb::FormatVersionKey(), &stored);
  if (read.IsNotFound()) {
    leveldb::WriteOptions sync;
    sync.sync = true;
    leveldb::Status written =
        db->Put(sync, ldb::FormatVersionKey(), kFormatVersion);
    if (!written.ok()) return absl::UnavailableError(written.ToString());
    return absl::OkStatus();
  }
  if (!read.ok()) return absl::DataLossError(read.ToString());
  if (stored != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("storage format is '", stored, "', this build reads '",
                     kFormatVersion, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RaftDb>> RaftDb::Open(const std::string& path,
                                                     Options options) {
  leveldb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.write_buffer_size = options.write_buffer_size;
  // Message bodies are mostly compressed or random already; Snappy cost
  // ~6% of a node's CPU under a send load for little gain.
  db_options.compression =
      options.compress ? leveldb::kSnappyCompression : leveldb::kNoCompression;
  leveldb::DB* raw = nullptr;
  leveldb::Status opened = leveldb::DB::Open(db_options, path, &raw);
  if (!opened.ok()) {
    return absl::UnavailableError(
        absl::StrCat("opening ", path, ": ", opened.ToString()));
  }
  std::unique_ptr<leveldb::DB> db(raw);
  absl::Status format = CheckFormat(db.get());
  if (!format.ok()) return format;
  absl::StatusOr<std::vector<ldb::GroupLog>> logs =
      ldb::RecoverGroupLogs(db.get());
  if (!logs.ok()) return logs.status();
  return std::unique_ptr<RaftDb>(
      new RaftDb(std::move(db), *std::move(logs), std::move(options)));
}

RaftDb::RaftDb(std::unique_ptr<leveldb::DB> db,
               std::vector<ldb::GroupLog> recovered, Options options)
    : db_(std::move(db)),
      durable_(std::make_unique<ldb::DurableLogs>(db_.get())) {
  durable_->Publish(std::move(recovered));
  writer_ = std::make_unique<StorageWriter>(db_.get(), durable_.get(),
                                            std::move(options.writer));
}

RaftDb::~RaftDb() {
  writer_.reset();
  {
    ldb::MutexLock lock(&mu_);
    storages_.clear();
  }
  durable_.reset();
}

std::vector<GroupId> RaftDb::Groups() const { return durable_->Groups(); }

LevelDbLogStorage& RaftDb::Storage(GroupId group) {
  ldb::MutexLock lock(&mu_);
  std::unique_ptr<LevelDbLogStorage>& storage = storages_[group];
  if (storage == nullptr) {
    storage =
        std::make_unique<LevelDbLogStorage>(group, db_.get(), durable_.get());
  }
  return *storage;
}

}  // namespace sluice::raft
