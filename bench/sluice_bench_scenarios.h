// The sluice-bench scenarios (bench/README.md). Each creates its queue,
// measures, prints its summary and RESULT line, deletes the queue, and
// returns the process exit status.
#ifndef SLUICE_BENCH_SLUICE_BENCH_SCENARIOS_H_
#define SLUICE_BENCH_SLUICE_BENCH_SCENARIOS_H_

#include "bench/sluice_bench_common.h"

namespace sluice::bench {

// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;
inline constexpr int kExitSetup = 2;       // queue, cluster or RPC setup failed
inline constexpr int kExitIncomplete = 3;  // failed sends, short drain, timeout
inline constexpr int kExitLost = 4;        // an acknowledged message is gone
inline constexpr int kExitDuplicate = 5;   // a message was enqueued twice

int RunSend(const BenchFlags& flags);
int RunDrain(const BenchFlags& flags);
int RunLatency(const BenchFlags& flags);
int RunFailover(const BenchFlags& flags);
int RunIdle(const BenchFlags& flags);
int RunClientSend(const BenchFlags& flags);  // sluice_bench_client.cc
int RunClientDrain(const BenchFlags& flags);

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_SLUICE_BENCH_SCENARIOS_H_
