// sluice-with-cluster: runs a command against a fresh local cluster.
//
//   sluice-with-cluster [--nodes=N] [--root=DIR] [--keep] [--secure]
//                       -- COMMAND ARGS...
//
// Starts N (default 3) real sluiced processes on free loopback ports with
// data under DIR (default: a new folder under $TMPDIR), waits until every
// node reports healthy over grpc.health.v1, then runs COMMAND with
//   SLUICE_ADDRESSES          comma-separated client addresses (host:port)
//   SLUICE_METRICS_ADDRESSES  comma-separated Prometheus endpoints
//   SLUICE_CLUSTER_ROOT       the data folder
// in its environment. With --secure the nodes run with TLS and an auth
// config (certificates from scripts/certs in DIR/certs) that makes both
// the client certificate "admin" and a fresh bearer token (principal
// "tester") admins, and COMMAND also gets
//   SLUICE_TLS_CA                        the CA the nodes' certificates chain
//   to SLUICE_TLS_CERT, SLUICE_TLS_KEY      the "admin" client certificate
//   SLUICE_TOKEN                         the token
// (docs/security.md). When COMMAND exits, the nodes are killed (they also
// die with this process: PR_SET_PDEATHSIG), the data folder is removed
// unless --keep, and COMMAND's exit status is returned. If COMMAND fails,
// the tail of every node's log is printed. Lets tests in other languages
// (Python, Node.js, shell) run against real nodes, as the C++ ones do.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/sha256.h"
#include "tests/integration/sluiced_process.h"

namespace sluice::testing {
namespace {

struct Options {
  int nodes = 3;
  std::string root;
  bool keep = false;
  bool secure = false;
  std::vector<std::string> command;
};

int Usage(const std::string& problem) {
  std::cerr << "sluice-with-cluster: " << problem << "\n"
            << "usage: sluice-with-cluster [--nodes=N] [--root=DIR] [--keep]"
               " [--secure] -- COMMAND ARGS...\n";
  return 2;
}

bool Parse(int argc, char** argv, Options* options, std::string* problem) {
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (absl::StartsWith(arg, "--nodes=")) {
      if (!absl::SimpleAtoi(arg.substr(8), &options->nodes) ||
          options->nodes < 1 || options->nodes > 9) {
        *problem = "--nodes: want 1 to 9";
        return false;
      }
    } else if (absl::StartsWith(arg, "--root=")) {
      options->root = arg.substr(7);
    } else if (arg == "--keep") {
      options->keep = true;
    } else if (arg == "--secure") {
      options->secure = true;
    } else {
      *problem = absl::StrCat("unknown flag ", arg);
      return false;
    }
  }
  for (; i < argc; ++i) options->command.push_back(argv[i]);
  if (options->command.empty()) {
    *problem = "no command after --";
    return false;
  }
  return true;
}

std::string MakeRoot() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "sluice-cluster-XXXXXX")
          .string();
  if (::mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

// A random bearer token (hex of 16 bytes from the kernel's generator).
std::string NewToken() {
  std::random_device random;
  std::string token;
  for (int i = 0; i < 4; ++i)
    absl::StrAppend(&token, absl::Hex(random(), absl::kZeroPad8));
  return token;
}

// Certificates, an auth config and the client environment of --secure.
absl::StatusOr<ClusterOptions> MakeSecure(const std::string& root, int nodes) {
  ClusterOptions options;
  options.certs_dir = root + "/certs";
  if (absl::Status s = MakeTestCerts(options.certs_dir, nodes, {}); !s.ok()) {
    return s;
  }
  const std::string token = NewToken();
  options.auth_config = root + "/auth.conf";
  std::ofstream(options.auth_config)
      << "# sluice-with-cluster --secure\n"
      << "token tester " << Sha256::HexHash(token) << "\n"
      << "grant tester admin *\n"
      << "grant admin admin *\n";
  ::setenv("SLUICE_TLS_CA", (options.certs_dir + "/ca.pem").c_str(), 1);
  ::setenv("SLUICE_TLS_CERT", (options.certs_dir + "/client-admin.pem").c_str(),
           1);
  ::setenv("SLUICE_TLS_KEY", (options.certs_dir + "/client-admin.key").c_str(),
           1);
  ::setenv("SLUICE_TOKEN", token.c_str(), 1);
  return options;
}

bool WaitHealthy(TestCluster& cluster, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    bool all = true;
    for (int id = 1; id <= cluster.size() && all; ++id) {
      all = HealthServing(cluster.node(id).address(), cluster.credentials());
    }
    if (all) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

// Runs the command in a child process; returns its exit status (128+signal
// if it was killed by one).
int RunCommand(const std::vector<std::string>& command) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    std::vector<char*> argv;
    for (const std::string& a : command) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::cerr << "sluice-with-cluster: cannot run " << command[0] << "\n";
    ::_exit(127);
  }
  // The terminal's Ctrl-C reaches the child too; we wait for it to finish
  // and then clean up.
  std::signal(SIGINT, SIG_IGN);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

void PrintLogTails(TestCluster& cluster) {
  for (int id = 1; id <= cluster.size(); ++id) {
    const std::string log = cluster.node(id).Log();
    const size_t start = log.size() > 4000 ? log.size() - 4000 : 0;
    std::cerr << "---- node " << id << " log (last 4000 bytes) ----\n"
              << log.substr(start) << "\n";
  }
}

int Main(int argc, char** argv) {
  Options options;
  std::string problem;
  if (!Parse(argc, argv, &options, &problem)) return Usage(problem);
  const bool own_root = options.root.empty();
  if (own_root) options.root = MakeRoot();
  if (options.root.empty()) return Usage("cannot create a data folder");

  int exit_code = 1;
  {
    ClusterOptions cluster_options;
    if (options.secure) {
      absl::StatusOr<ClusterOptions> secure =
          MakeSecure(options.root, options.nodes);
      if (!secure.ok()) {
        std::cerr << "sluice-with-cluster: " << secure.status() << "\n";
        return 1;
      }
      cluster_options = *std::move(secure);
    }
    TestCluster cluster(options.nodes, options.root + "/data", cluster_options);
    if (absl::Status s = cluster.StartAll(); !s.ok()) {
      std::cerr << "sluice-with-cluster: start failed: " << s << "\n";
      PrintLogTails(cluster);
      return 1;
    }
    if (!WaitHealthy(cluster, absl::Seconds(60))) {
      std::cerr << "sluice-with-cluster: nodes not healthy within 60 s\n";
      PrintLogTails(cluster);
      return 1;
    }
    std::vector<std::string> addresses, metrics;
    for (int id = 1; id <= cluster.size(); ++id) {
      addresses.push_back(cluster.node(id).address());
      metrics.push_back(cluster.node(id).metrics_address());
    }
    ::setenv("SLUICE_ADDRESSES", absl::StrJoin(addresses, ",").c_str(), 1);
    ::setenv("SLUICE_METRICS_ADDRESSES", absl::StrJoin(metrics, ",").c_str(),
             1);
    ::setenv("SLUICE_CLUSTER_ROOT", options.root.c_str(), 1);
    std::cerr << "sluice-with-cluster: " << options.nodes << " nodes at "
              << absl::StrJoin(addresses, ",") << "\n";
    exit_code = RunCommand(options.command);
    if (exit_code != 0) PrintLogTails(cluster);
  }  // nodes are killed here
  if (!options.keep) {
    std::error_code ignored;
    std::filesystem::remove_all(options.root, ignored);
  }
  return exit_code;
}

}  // namespace
}  // namespace sluice::testing

int main(int argc, char** argv) { return sluice::testing::Main(argc, argv); }
