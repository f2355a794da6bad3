#include "raft/leveldb/storage_writer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/logging.h"
#include "raft/leveldb/batch_stager.h"
#include "raft/leveldb/mutex_lock.h"

namespace sluice::raft {

StorageWriter::StorageWriter(leveldb::DB* db, ldb::DurableLogs* durable,
                             Options options)
    : db_(db), durable_(durable), options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

StorageWriter::~StorageWriter() {
  {
    ldb::MutexLock lock(&mu_);
    stopping_ = true;
    work_.Signal();
  }
  thread_.join();
}

void StorageWriter::Submit(WriteRequest request) {
  // Encoding and checksumming happen here, on the caller's thread.
  std::unique_ptr<ldb::PreparedRequest> prepared =
      ldb::Prepare(std::move(request));
  ldb::MutexLock lock(&mu_);
  SLUICE_CHECK(!stopping_) << "Submit on a storage writer that is stopping";
  queue_.push_back(std::move(prepared));
  work_.Signal();
}

StorageWriter::Stats StorageWriter::stats() const {
  ldb::MutexLock lock(&mu_);
  return stats_;
}

void StorageWriter::Run() {
  while (true) {
    Pending pending = TakeBatch();
    if (pending.empty()) return;
    WriteBatchOf(pending);
  }
}

StorageWriter::Pending StorageWriter::TakeBatch() {
  Pending pending;
  ldb::MutexLock lock(&mu_);
  while (!stopping_ && queue_.empty()) ldb::Wait(&work_, &mu_);
  size_t bytes = 0;
  while (!queue_.empty() &&
         (pending.empty() || bytes < options_.max_batch_bytes)) {
    bytes += queue_.front()->bytes;
    pending.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return pending;
}

void StorageWriter::WriteBatchOf(Pending& pending) {
  if (options_.before_batch) options_.before_batch();
  std::vector<absl::Status> results(pending.size());
  ldb::BatchStager stager(durable_, &batch_);
  uint64_t entries = 0;
  uint64_t bytes = 0;
  for (size_t i = 0; i < pending.size(); ++i) {
    const ldb::PreparedRequest& request = *pending[i];
    if (!failure_.ok()) {
      results[i] = failure_;
    } else if (!request.invalid.ok()) {
      results[i] = request.invalid;
    } else {
      results[i] = stager.Add(request);
      if (results[i].ok()) {
        entries += request.entries;
        bytes += request.bytes;
      }
    }
  }
  bool wrote = false;
  if (failure_.ok() && !stager.empty()) {
    leveldb::WriteOptions sync;
    sync.sync = true;
    const absl::Time started = absl::Now();
    const leveldb::Status written = db_->Write(sync, stager.batch());
    if (options_.after_sync) options_.after_sync(absl::Now() - started);
    if (written.ok()) {
      durable_->Publish(stager.TakeChanged());
      wrote = true;
    } else {
      failure_ = absl::UnavailableError(
          absl::StrCat("storage write failed: ", written.ToString()));
      SLUICE_LOG(ERROR) << "storage writer stops writing: "
                        << written.ToString();
      for (absl::Status& result : results) {
        if (result.ok()) result = failure_;
      }
    }
  }
  {
    ldb::MutexLock lock(&mu_);
    stats_.requests += pending.size();
    if (wrote) {
      stats_.batches += 1;
      stats_.entries += entries;
      stats_.bytes += bytes;
    }
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    if (pending[i]->done) std::move(pending[i]->done)(std::move(results[i]));
  }
}

}  // namespace sluice::raft
