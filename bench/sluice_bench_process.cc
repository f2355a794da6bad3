#include "bench/sluice_bench_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/sluice_bench_common.h"

extern char** environ;

namespace sluice::bench {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ReadLink(const std::string& path) {
  std::error_code ec;
  std::filesystem::path target = std::filesystem::read_symlink(path, ec);
  return ec ? "" : target.string();
}

// The state letter of /proc/<pid>/stat ('R', 'S', 'Z', ...); 0 if gone.
char ProcessState(pid_t pid) {
  absl::StatusOr<std::string> stat =
      ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return 0;
  // "pid (comm) S ...": comm may contain spaces and parentheses.
  size_t close = stat->rfind(')');
  if (close == std::string::npos || close + 2 >= stat->size()) return 0;
  return (*stat)[close + 2];
}

}  // namespace

absl::StatusOr<double> ProcessCpuSeconds(pid_t pid) {
  absl::StatusOr<std::string> stat =
      ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return stat.status();
  // After "pid (comm) ": state is field 3, utime 14 and stime 15.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) {
    return absl::InternalError(absl::StrCat("/proc/", pid, "/stat unreadable"));
  }
  std::vector<std::string> fields =
      absl::StrSplit(stat->substr(close + 2), ' ', absl::SkipEmpty());
  uint64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InternalError(absl::StrCat("/proc/", pid, "/stat unreadable"));
  }
  return static_cast<double>(utime + stime) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

absl::StatusOr<NodeProcess> FindNodeProcess(const std::string& cluster_dir,
                                            uint64_t node_id) {
  NodeProcess node;
  node.node_id = node_id;
  const std::filesystem::path dir = std::filesystem::absolute(cluster_dir);
  node.pid_file = (dir / absl::StrCat("node-", node_id, ".pid")).string();
  node.log_file = (dir / absl::StrCat("node-", node_id, ".log")).string();
  absl::StatusOr<std::string> pid_text = ReadFile(node.pid_file);
  if (!pid_text.ok()) return pid_text.status();
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*pid_text), &pid) ||
      pid <= 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(node.pid_file, " does not hold a PID"));
  }
  node.pid = pid;
  absl::StatusOr<std::string> cmdline =
      ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
  if (!cmdline.ok() || cmdline->empty()) {
    return absl::NotFoundError(absl::StrCat("node ", node_id, ": process ", pid,
                                            " (", node.pid_file,
                                            ") is not running"));
  }
  size_t from = 0;
  while (from < cmdline->size()) {
    size_t end = cmdline->find('\0', from);
    if (end == std::string::npos) end = cmdline->size();
    node.argv.push_back(cmdline->substr(from, end - from));
    from = end + 1;
  }
  bool id_ok = false, dir_ok = false;
  for (const std::string& arg : node.argv) {
    if (arg == absl::StrCat("--node-id=", node_id)) id_ok = true;
    if (absl::StartsWith(arg, "--data-dir=") &&
        absl::EndsWith(absl::StripSuffix(arg, "/"),
                       absl::StrCat("node-", node_id))) {
      dir_ok = true;
    }
  }
  if (!id_ok || !dir_ok) {
    return absl::FailedPreconditionError(absl::StrCat(
        "process ", pid, " from ", node.pid_file, " is not sluiced node ",
        node_id, ": ", absl::StrJoin(node.argv, " ")));
  }
  node.cwd = ReadLink(absl::StrCat("/proc/", pid, "/cwd"));
  if (!node.argv[0].empty() && node.argv[0][0] == '/') {
    node.executable = node.argv[0];
  } else {
    node.executable = std::string(absl::StripSuffix(
        ReadLink(absl::StrCat("/proc/", pid, "/exe")), " (deleted)"));
  }
  if (node.cwd.empty() || node.executable.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read /proc/", pid, "/cwd or exe"));
  }
  return node;
}

absl::Status KillNode(const NodeProcess& node, int64_t wait_ms) {
  if (kill(node.pid, SIGKILL) != 0 && errno != ESRCH) {
    return absl::InternalError(
        absl::StrCat("kill -9 ", node.pid, ": ", std::strerror(errno)));
  }
  const int64_t give_up = NowNs() + wait_ms * 1000000;
  for (;;) {
    const char state = ProcessState(node.pid);
    if (state == 0 || state == 'Z' || state == 'X') return absl::OkStatus();
    if (NowNs() > give_up) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", node.pid, " still there after kill -9"));
    }
    SleepUntilNs(NowNs() + 5000000);
  }
}

absl::StatusOr<pid_t> RestartNode(const NodeProcess& node) {
  {
    std::ofstream log(node.log_file, std::ios::app);
    log << "=== sluice-bench failover: restarting node " << node.node_id
        << " (was pid " << node.pid << ") ===" << std::endl;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, node.log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawn_file_actions_addchdir_np(&actions, node.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigfillset(&defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (const std::string& a : node.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, node.executable.c_str(), &actions, &attr,
                              argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    return absl::InternalError(
        absl::StrCat("starting ", node.executable, ": ", std::strerror(err)));
  }
  std::ofstream(node.pid_file, std::ios::trunc) << pid << "\n";
  return pid;
}

}  // namespace sluice::bench
