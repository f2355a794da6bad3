// StorageWriter: the node's one storage writer thread (group commit). Any
// thread submits WriteRequests; the writer takes everything queued, merges it
// into ONE leveldb::WriteBatch written with sync=true, publishes the result to
// DurableLogs, then completes each request's callback. While one batch is
// being synced, new requests queue up and go into the next batch, so the
// fsync cost is shared by every group and request that arrived meanwhile.
//
//   submitters ──Submit──▶ queue ──▶ writer thread: stage ─▶ Write(sync)
//                                          ─▶ DurableLogs::Publish ─▶ done()
//
// Requests are staged in submission order against the logs as the previous
// requests leave them, so a group may have several requests in one batch. A
// request that breaks a storage rule (append with a gap, compaction past the
// snapshot, ...) is refused alone, with nothing of it written. After a failed
// LevelDB write the writer refuses everything: LevelDB cannot tell what
// reached the disk, and the node must restart and recover.
//
// Owned by RaftDb; Submit and stats from any thread. The destructor writes
// what is queued, then joins the thread.
#ifndef SLUICE_RAFT_LEVELDB_STORAGE_WRITER_H_
#define SLUICE_RAFT_LEVELDB_STORAGE_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "absl/time/time.h"
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "leveldb/db.h"
#include "raft/leveldb/durable_logs.h"
#include "raft/leveldb/prepared_request.h"
#include "raft/leveldb/write_request.h"

namespace sluice::raft {

class StorageWriter {
 public:
  struct Options {
    // A batch stops taking requests once it holds this many bytes (one
    // request is always taken whole).
    size_t max_batch_bytes = 8 << 20;
    // Called on the writer thread before each batch is staged. Tests use it
    // to hold the writer while requests pile up.
    absl::AnyInvocable<void()> before_batch;
    // Called on the writer thread after each synced write with its duration
    // (the fsync latency metric).
    absl::AnyInvocable<void(absl::Duration)> after_sync;
  };

  struct Stats {
    uint64_t batches = 0;   // synced LevelDB writes
    uint64_t requests = 0;  // requests completed, successfully or not
    uint64_t entries = 0;   // log entries made durable
    uint64_t bytes = 0;     // approximate bytes made durable
  };

  // `db` and `durable` must outlive the writer.
  StorageWriter(leveldb::DB* db, ldb::DurableLogs* durable, Options options);
  ~StorageWriter();
  StorageWriter(const StorageWriter&) = delete;
  StorageWriter& operator=(const StorageWriter&) = delete;

  void Submit(WriteRequest request);
  Stats stats() const;

 private:
  using Pending = std::vector<std::unique_ptr<ldb::PreparedRequest>>;

  void Run();
  // Takes the next batch's requests; empty when stopping with nothing left.
  Pending TakeBatch();
  void WriteBatchOf(Pending& pending);

  leveldb::DB* const db_;
  ldb::DurableLogs* const durable_;
  Options options_;
  // Writer thread only.
  absl::Status failure_;       // the first failed write
  leveldb::WriteBatch batch_;  // reused: keeps its buffer between batches

  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<ldb::PreparedRequest>> queue_ ABSL_GUARDED_BY(mu_);
  absl::CondVar work_;  // signalled when queue_ or stopping_ changes
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_LEVELDB_STORAGE_WRITER_H_
