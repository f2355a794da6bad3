// Finding, killing and restarting one sluiced node of a scripts/cluster
// cluster, for the failover scenario. scripts/cluster writes each node's PID
// to DIR/node-<id>.pid and appends its output to DIR/node-<id>.log; a PID
// is only trusted if /proc/<pid>/cmdline carries --node-id=<id> and a
// --data-dir ending in node-<id> (the same check scripts/cluster makes), so
// a stale PID file never gets another process killed.
#ifndef SLUICE_BENCH_SLUICE_BENCH_PROCESS_H_
#define SLUICE_BENCH_SLUICE_BENCH_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::bench {

// A running node, and what it takes to start it again.
struct NodeProcess {
  uint64_t node_id = 0;
  pid_t pid = 0;
  std::vector<std::string> argv;  // from /proc/<pid>/cmdline
  std::string executable;         // argv[0] if absolute, else /proc/<pid>/exe
  std::string cwd;                // /proc/<pid>/cwd
  std::string pid_file;           // DIR/node-<id>.pid
  std::string log_file;           // DIR/node-<id>.log
};

// Reads DIR/node-<id>.pid and the process's command line. NOT_FOUND if the
// file or process is missing, FAILED_PRECONDITION if the process is not
// that node's sluiced.
absl::StatusOr<NodeProcess> FindNodeProcess(const std::string& cluster_dir,
                                            uint64_t node_id);

// User + system CPU time the process has used so far, in seconds
// (/proc/<pid>/stat). NOT_FOUND if it is gone.
absl::StatusOr<double> ProcessCpuSeconds(pid_t pid);

// SIGKILL, then waits (up to `wait_ms`) until the process is gone.
absl::Status KillNode(const NodeProcess& node, int64_t wait_ms);

// Starts the node again with the same command line and working directory,
// in a session of its own, stdout/stderr appended to the log file, and
// writes the new PID to the PID file (so `scripts/cluster down` stops it).
absl::StatusOr<pid_t> RestartNode(const NodeProcess& node);

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_SLUICE_BENCH_PROCESS_H_
