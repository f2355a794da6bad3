// raft-storage-bench: durable log throughput of the LevelDB Raft storage
// (group commit across groups, sync=true, 1 KiB entries), side by side with
// raw LevelDB synced WriteBatches of 64 x 1 KiB, the machine's baseline
// (docs: MACHINE.md). Prints each group-commit figure as a ratio of the raw
// one; the goal is >= 0.70.
//
//   raft-storage-bench [--benchmark_filter=...]
//
// Data lives in a fresh directory under /tmp (or $SLUICE_BENCH_DIR), removed
// at the end of each run.
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "leveldb/db.h"
#include "leveldb/write_batch.h"
#include "raft/leveldb/raft_db.h"

namespace sluice::raft {
namespace {

constexpr size_t kEntryBytes = 1024;
constexpr int kRawBatchEntries = 64;
// Group commit load: proposer threads keep at most `window` entries
// submitted and not yet durable (a benchmark argument: 128 lets one batch
// fill while another syncs; 64 caps batches at the raw baseline's size), in
// requests of kEntriesPerRequest entries of one group (a small Ready) plus
// that group's hard state.
constexpr int kProposers = 2;
constexpr int kEntriesPerRequest = 4;
constexpr int kEntriesPerIteration = 16384;

// Entries per second of each run, by name, for the ratios printed at the end.
std::map<std::string, double>& Results() {
  static auto* results = new std::map<std::string, double>();
  return *results;
}

class BenchDir {
 public:
  BenchDir() {
    // SLUICE_BENCH_DIR picks another file system (e.g. /dev/shm, where a sync
    // costs nothing and only CPU is measured).
    const char* root = getenv("SLUICE_BENCH_DIR");
    std::string pattern = std::string(root != nullptr ? root : "/tmp") +
                          "/sluice-storage-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~BenchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string db_path() const { return path_ + "/db"; }

 private:
  std::string path_;
};

// Incompressible bytes, the same for both sides.
const std::string& Payload() {
  static const std::string* payload = [] {
    auto* bytes = new std::string(kEntryBytes, '\0');
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (char& c : *bytes) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
    return bytes;
  }();
  return *payload;
}

double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

// Records entries/s and CPU per entry for a finished run.
void Report(benchmark::State& state, const std::string& name, double entries,
            absl::Duration wall, double cpu_seconds) {
  const double per_second = entries / absl::ToDoubleSeconds(wall);
  state.counters["entries_per_s"] = per_second;
  state.counters["cpu_us_per_entry"] = cpu_seconds * 1e6 / entries;
  Results()[name] = per_second;
}

void BM_RawLevelDbSyncedBatch(benchmark::State& state,
                              const std::string& name) {
  BenchDir dir;
  leveldb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = RaftDb::Options().write_buffer_size;
  leveldb::DB* raw = nullptr;
  if (!leveldb::DB::Open(options, dir.db_path(), &raw).ok()) {
    state.SkipWithError("cannot open LevelDB");
    return;
  }
  std::unique_ptr<leveldb::DB> db(raw);
  leveldb::WriteOptions sync;
  sync.sync = true;
  uint64_t next = 0;
  const absl::Time start = absl::Now();
  const double cpu_start = CpuSeconds();
  for (auto _ : state) {
    leveldb::WriteBatch batch;
    for (int i = 0; i < kRawBatchEntries; ++i) {
      // A key of the same shape as a Raft entry key: 18 bytes.
      char key[18] = {1};
      const uint64_t n = next++;
      for (int b = 0; b < 8; ++b) key[17 - b] = static_cast<char>(n >> (8 * b));
      batch.Put(leveldb::Slice(key, sizeof(key)), Payload());
    }
    if (!db->Write(sync, &batch).ok()) {
      state.SkipWithError("write failed");
      return;
    }
  }
  const double entries = static_cast<double>(next);
  Report(state, name, entries, absl::Now() - start, CpuSeconds() - cpu_start);
  state.SetItemsProcessed(static_cast<int64_t>(next));
}

// Proposers feeding one RaftDb's writer, as a node's event loop would.
class Load {
 public:
  Load(RaftDb* db, int groups, int window)
      : db_(db),
        window_(window),
        next_index_(groups, 1),
        group_mu_(std::make_unique<absl::Mutex[]>(groups)) {}

  // Proposes `total` entries from kProposers threads and waits until all
  // are durable.
  void Run(int total) {
    claimed_.store(0);
    std::vector<std::thread> threads;
    threads.reserve(kProposers);
    for (int p = 0; p < kProposers; ++p) {
      threads.emplace_back([this, total] { Propose(total); });
    }
    for (auto& thread : threads) thread.join();
    absl::MutexLock lock(&mu_);
    while (in_flight_ > 0) changed_.Wait(&mu_);
  }

  int failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  void Propose(int total) {
    const int groups = static_cast<int>(next_index_.size());
    while (true) {
      const int n = claimed_.fetch_add(kEntriesPerRequest);
      if (n >= total) return;
      const int g = (n / kEntriesPerRequest) % groups;
      {
        // Flow control: a bounded window of entries not yet durable.
        absl::MutexLock lock(&mu_);
        while (in_flight_ + kEntriesPerRequest > window_) {
          changed_.Wait(&mu_);
        }
        in_flight_ += kEntriesPerRequest;
      }
      // Index assignment and submission in one step keep a group's appends
      // in log order.
      absl::MutexLock group_lock(&group_mu_[g]);
      const uint64_t first = next_index_[g];
      next_index_[g] += kEntriesPerRequest;
      GroupWrite write;
      write.group = GroupId(g + 1);
      for (int i = 0; i < kEntriesPerRequest; ++i) {
        auto& entry = write.entries.emplace_back();
        entry.set_index(first + i);
        entry.set_term(1);
        entry.set_data(Payload());
      }
      write.hard_state.emplace();
      write.hard_state->set_term(1);
      write.hard_state->set_vote(1);
      write.hard_state->set_commit(first);
      WriteRequest request;
      request.groups.push_back(std::move(write));
      request.done = [this](const absl::Status& status) {
        absl::MutexLock lock(&mu_);
        if (!status.ok()) ++failures_;
        in_flight_ -= kEntriesPerRequest;
        // Wake proposers once half the window is free, as a host refills
        // after a batch completes, not after each request.
        if (in_flight_ <= window_ / 2) changed_.SignalAll();
      };
      db_->writer().Submit(std::move(request));
    }
  }

  RaftDb* const db_;
  const int window_;
  std::vector<uint64_t> next_index_;  // element g guarded by group_mu_[g]
  std::unique_ptr<absl::Mutex[]> group_mu_;
  std::atomic<int> claimed_{0};
  absl::Mutex mu_;
  absl::CondVar changed_;  // in_flight_ went down
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
};

void BM_GroupCommit(benchmark::State& state) {
  const int groups = static_cast<int>(state.range(0));
  const int window = static_cast<int>(state.range(1));
  BenchDir dir;
  auto opened = RaftDb::Open(dir.db_path(), RaftDb::Options());
  if (!opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
    return;
  }
  std::unique_ptr<RaftDb> db = *std::move(opened);
  Load load(db.get(), groups, window);
  const StorageWriter::Stats before = db->writer().stats();
  const absl::Time start = absl::Now();
  const double cpu_start = CpuSeconds();
  int64_t entries = 0;
  for (auto _ : state) {
    load.Run(kEntriesPerIteration);
    entries += kEntriesPerIteration;
  }
  const absl::Duration wall = absl::Now() - start;
  const double cpu = CpuSeconds() - cpu_start;
  if (load.failures() > 0) state.SkipWithError("writes failed");
  const StorageWriter::Stats after = db->writer().stats();
  state.counters["entries_per_batch"] =
      static_cast<double>(after.entries - before.entries) /
      static_cast<double>(after.batches - before.batches);
  Report(state,
         "group_commit groups=" + std::to_string(groups) +
             " window=" + std::to_string(window),
         static_cast<double>(entries), wall, cpu);
  state.SetItemsProcessed(entries);
}

void RegisterAll() {
  // The raw baseline runs before and after, so that drift of this shared
  // machine during the run shows.
  benchmark::RegisterBenchmark("raw_leveldb_sync_64x1KiB/before",
                               BM_RawLevelDbSyncedBatch, std::string("raw/0"))
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(2.0);
  for (auto [groups, window] : {std::pair{1, 128}, std::pair{16, 128},
                                std::pair{256, 128}, std::pair{16, 64}}) {
    benchmark::RegisterBenchmark("group_commit_sync_1KiB", BM_GroupCommit)
        ->Args({groups, window})
        ->ArgNames({"groups", "window"})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(2.0);
  }
  benchmark::RegisterBenchmark("raw_leveldb_sync_64x1KiB/after",
                               BM_RawLevelDbSyncedBatch, std::string("raw/1"))
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(2.0);
}

void PrintRatios() {
  const auto& results = Results();
  double raw_sum = 0;
  int raw_runs = 0;
  for (const auto& [name, rate] : results) {
    if (name.rfind("raw/", 0) == 0) {
      raw_sum += rate;
      ++raw_runs;
    }
  }
  if (raw_runs == 0) return;
  const double raw = raw_sum / raw_runs;
  std::printf(
      "\nraw LevelDB, sync=true, 64 x 1 KiB per WriteBatch: %.0f entries/s"
      " (mean of %d runs)\n",
      raw, raw_runs);
  for (const auto& [name, rate] : results) {
    if (name.rfind("group_commit", 0) != 0) continue;
    std::printf("%-34s %8.0f entries/s  ratio to raw %.2f  (goal >= 0.70)\n",
                name.c_str(), rate, rate / raw);
  }
}

}  // namespace
}  // namespace sluice::raft

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  sluice::raft::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  sluice::raft::PrintRatios();
  return 0;
}
