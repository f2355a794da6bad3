// sluice-sim: runs the deterministic Raft simulation for many seeds.
//
//   sluice-sim --seeds 1000 --first-seed 1      run seeds 1..1000
//   sluice-sim --seed 42 --trace                replay one seed, print its
//   events sluice-sim --voters 5 --seeds 200           5-member groups
//
// Exit status 0 when every seed passed; a failing seed is printed with the
// command that replays it.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/sim/simulator.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: sluice-sim [--seeds N] [--first-seed S] [--seed S] "
               "[--voters 3|5] [--fault-ms MS] [--no-membership] [--quiesce] "
               "[--trace] [--verbose]\n");
}

bool ParseFlag(const char* arg, const char* name, uint64_t* value) {
  size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  if (!absl::SimpleAtoi(arg + n + 1, value)) {
    std::fprintf(stderr, "sluice-sim: %s needs a number, got '%s'\n", name,
                 arg + n + 1);
    std::exit(2);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seeds = 100, first_seed = 1, voters = 3, fault_ms = 8000;
  bool trace = false, verbose = false, membership = true, quiesce = false;
  for (int i = 1; i < argc; ++i) {
    // Accept both "--flag=value" and "--flag value".
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0 && arg.find('=') == std::string::npos &&
        i + 1 < argc && argv[i + 1][0] != '-') {
      arg += "=";
      arg += argv[++i];
    }
    uint64_t seed;
    if (ParseFlag(arg.c_str(), "--seeds", &seeds) ||
        ParseFlag(arg.c_str(), "--first-seed", &first_seed) ||
        ParseFlag(arg.c_str(), "--voters", &voters) ||
        ParseFlag(arg.c_str(), "--fault-ms", &fault_ms)) {
      continue;
    }
    if (ParseFlag(arg.c_str(), "--seed", &seed)) {
      first_seed = seed;
      seeds = 1;
    } else if (arg == "--trace") {
      trace = true;
    } else if (arg == "--verbose") {
      verbose = true;
    } else if (arg == "--no-membership") {
      membership = false;
    } else if (arg == "--quiesce") {
      quiesce = true;

    } else {
      Usage();
      return 2;
    }
  }
  if (voters != 3 && voters != 5) {
    std::fprintf(stderr, "sluice-sim: --voters must be 3 or 5\n");
    return 2;
  }

  uint64_t failed = 0;
  sluice::sim::SimStats total;
  for (uint64_t seed = first_seed; seed < first_seed + seeds; ++seed) {
    sluice::sim::SimOptions options;
    options.seed = seed;
    options.voters = static_cast<int>(voters);
    options.fault_phase = static_cast<int64_t>(fault_ms) * 1000;
    options.membership_changes = membership;
    options.quiesce = quiesce;
    options.record_trace = trace;
    options.print_trace = trace;
    sluice::sim::SimResult result = sluice::sim::Simulator(options).Run();
    const auto& s = result.stats;
    total.events += s.events;
    total.committed += s.committed;
    total.leaders += s.leaders;
    total.crashes += s.crashes;
    total.partitions += s.partitions;
    total.conf_changes += s.conf_changes;
    total.transfers += s.transfers;
    total.snapshots_installed += s.snapshots_installed;
    total.quiesces += s.quiesces;
    total.peers_down += s.peers_down;
    if (verbose || !result.ok) {
      std::printf(
          "seed %llu: %s trace=%016llx events=%llu committed=%llu "
          "leaders=%llu crashes=%llu partitions=%llu conf_changes=%llu "
          "transfers=%llu snapshots=%llu\n",
          static_cast<unsigned long long>(seed), result.ok ? "ok" : "FAILED",
          static_cast<unsigned long long>(result.trace_hash),
          static_cast<unsigned long long>(s.events),
          static_cast<unsigned long long>(s.committed),
          static_cast<unsigned long long>(s.leaders),
          static_cast<unsigned long long>(s.crashes),
          static_cast<unsigned long long>(s.partitions),
          static_cast<unsigned long long>(s.conf_changes),
          static_cast<unsigned long long>(s.transfers),
          static_cast<unsigned long long>(s.snapshots_installed));
    }
    if (!result.ok) {
      ++failed;
      std::printf(
          "  %s\n  replay: sluice-sim --seed %llu --voters %llu%s --trace\n",
          result.failure.c_str(), static_cast<unsigned long long>(seed),
          static_cast<unsigned long long>(voters), quiesce ? " --quiesce" : "");
    }
  }
  std::printf(
      "sluice-sim: %llu seeds from %llu, %llu voters: %llu passed, %llu "
      "failed (events %llu, committed %llu, leaders %llu, crashes %llu, "
      "partitions %llu, conf changes %llu, transfers %llu, snapshots %llu%s)\n",
      static_cast<unsigned long long>(seeds),
      static_cast<unsigned long long>(first_seed),
      static_cast<unsigned long long>(voters),
      static_cast<unsigned long long>(seeds - failed),
      static_cast<unsigned long long>(failed),
      static_cast<unsigned long long>(total.events),
      static_cast<unsigned long long>(total.committed),
      static_cast<unsigned long long>(total.leaders),
      static_cast<unsigned long long>(total.crashes),
      static_cast<unsigned long long>(total.partitions),
      static_cast<unsigned long long>(total.conf_changes),
      static_cast<unsigned long long>(total.transfers),
      static_cast<unsigned long long>(total.snapshots_installed),
      quiesce ? absl::StrCat(", quiesces ", total.quiesces,
                             ", peers found "
                             "silent ",
                             total.peers_down)
                    .c_str()
              : "");
  return failed == 0 ? 0 : 1;
}
