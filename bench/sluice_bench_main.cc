// sluice-bench: the load generator of bench/README.md. Parses the flags,
// arms the hard timeout, and runs one scenario.
#include <iostream>
#include <string>
#include <vector>

#include "bench/sluice_bench_common.h"
#include "bench/sluice_bench_scenarios.h"
#include "bench/sluice_bench_watchdog.h"

int main(int argc, char** argv) {
  using namespace sluice::bench;  // NOLINT(build/namespaces)
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h" || a == "help") {
      std::cout << Usage();
      return kExitOk;
    }
  }
  absl::StatusOr<BenchFlags> flags = ParseBenchFlags(args);
  if (!flags.ok()) {
    std::cerr << "sluice-bench: " << flags.status().message() << "\n\n"
              << Usage();
    return kExitUsage;
  }
  Watchdog::Get().Start(flags->timeout);
  int status = kExitUsage;
  if (flags->scenario == "send") {
    status = RunSend(*flags);
  } else if (flags->scenario == "drain") {
    status = RunDrain(*flags);
  } else if (flags->scenario == "latency") {
    status = RunLatency(*flags);
  } else if (flags->scenario == "failover") {
    status = RunFailover(*flags);
  } else if (flags->scenario == "idle") {
    status = RunIdle(*flags);
  }
#ifdef SLUICE_BENCH_CLIENT  // built with client/
  if (flags->scenario == "client-send") status = RunClientSend(*flags);
  if (flags->scenario == "client-drain") status = RunClientDrain(*flags);
#endif
  Watchdog::Get().Stop();
  return status;
}
