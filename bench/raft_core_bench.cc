// Raft core throughput: entries per second through propose -> replicate ->
// commit -> apply for a 3-member group held in memory (MemoryStorage, no
// fsync, messages handed over directly). This is the ceiling the core itself
// puts on a partition; the storage benchmark (raft_storage_bench) measures
// the disk side.
//
//   build/default/bench/raft-core-bench --benchmark_counters_tabular=true
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/logging.h"
#include "base/random.h"
#include "benchmark/benchmark.h"
#include "raft/core/raw_node.h"
#include "raft/storage/memory_storage.h"

namespace sluice::raft {
namespace {

using sluice::internal::raft::ConfState;
using sluice::internal::raft::Message;

// Three members wired back to back; Pump() runs every Ready to completion.
class InMemoryGroup {
 public:
  explicit InMemoryGroup(uint64_t max_size_per_msg) : random_(1) {
    ConfState cs;
    for (uint64_t id = 1; id <= 3; ++id) cs.add_voters(id);
    for (uint64_t id = 1; id <= 3; ++id) {
      storages_.push_back(std::make_unique<MemoryStorage>(cs));
      Config config;
      config.id = NodeId(id);
      config.group = GroupId(1);
      config.random = &random_;
      config.max_size_per_msg = max_size_per_msg;
      config.max_inflight_msgs = 256;
      auto node = RawNode::Create(config, storages_.back().get());
      SLUICE_CHECK(node.ok()) << node.status();
      nodes_.push_back(std::move(*node));
    }
    nodes_[0]->Campaign();
    Pump();
    SLUICE_CHECK(nodes_[0]->raft().role() == Role::kLeader) << "no leader";
  }

  RawNode& leader() { return *nodes_[0]; }
  uint64_t applied_on_all() const {
    uint64_t min = UINT64_MAX;
    for (uint64_t a : applied_) min = std::min(min, a);
    return min;
  }

  void Pump() {
    bool progress = true;
    while (progress) {
      progress = false;
      for (size_t i = 0; i < nodes_.size(); ++i) {
        RawNode& node = *nodes_[i];
        while (!inbox_[i].empty()) {
          (void)node.Step(inbox_[i].front());
          inbox_[i].pop_front();
          progress = true;
        }
        if (!node.HasReady()) continue;
        progress = true;
        Ready rd = node.GetReady();
        Route(rd.messages);
        if (rd.snapshot) (void)storages_[i]->ApplySnapshot(*rd.snapshot);
        if (!rd.entries.empty()) (void)storages_[i]->Append(rd.entries);
        if (rd.hard_state) storages_[i]->SetHardState(*rd.hard_state);
        Route(rd.messages_after_persist);
        for (const auto& e : rd.committed_entries) {
          bytes_applied_ += e.data().size();
          applied_[i] = e.index();
        }
        node.Advance();
      }
    }
  }

  uint64_t bytes_applied() const { return bytes_applied_; }

 private:
  void Route(std::vector<Message>& messages) {
    for (Message& m : messages) inbox_[m.to() - 1].push_back(std::move(m));
  }

  Random random_;
  std::vector<std::unique_ptr<MemoryStorage>> storages_;
  std::vector<std::unique_ptr<RawNode>> nodes_;
  std::deque<Message> inbox_[3];
  uint64_t applied_[3] = {0, 0, 0};
  uint64_t bytes_applied_ = 0;
};

// state.range(0): entries proposed before each pump (a batch).
void BM_ProposeCommitApply(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  InMemoryGroup group(/*max_size_per_msg=*/1 << 20);
  const std::string payload(1024, 'x');
  uint64_t entries = 0;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) {
      absl::Status s = group.leader().Propose(payload);
      SLUICE_CHECK(s.ok()) << s;
    }
    group.Pump();
    entries += batch;
  }
  SLUICE_CHECK(group.applied_on_all() >= entries) << "not all applied";
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(entries),
                                                   benchmark::Counter::kIsRate);
  state.counters["MiB/s"] =
      benchmark::Counter(static_cast<double>(entries) * 1024 / (1 << 20),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ProposeCommitApply)->Arg(1)->Arg(16)->Arg(64)->Arg(256);

}  // namespace
}  // namespace sluice::raft

BENCHMARK_MAIN();
