#include "tests/integration/sluiced_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "base/file.h"
#include "grpcpp/generic/generic_stub.h"

namespace sluice::testing {
namespace {

// Waits for `pid` up to `timeout`; returns the exit code (128+signal when
// killed) or -1 if it is still running.
int WaitPid(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (absl::Now() >= deadline) return -1;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

pid_t Spawn(const std::string& binary, const std::vector<std::string>& args,
            const std::string& log_path) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  // A test that crashes must not leave its nodes running.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(binary.c_str(), argv.data());
  ::_exit(127);
}

// A node that is down now may be up in 100 ms: the default reconnect
// backoff (1 s growing to 2 min) would make every restart look slow.
std::shared_ptr<grpc::Channel> FastReconnectChannel(
    const std::string& address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return grpc::CreateCustomChannel(
      address,
      credentials != nullptr ? credentials : grpc::InsecureChannelCredentials(),
      args);
}

}  // namespace

absl::Status MakeTestCerts(const std::string& dir, int nodes,
                           const std::vector<std::string>& clients) {
  std::vector<std::string> args = {
      "--out", dir, "--nodes", absl::StrCat(nodes), "--client", "admin"};
  for (const std::string& c : clients) {
    args.push_back("--client");
    args.push_back(c);
  }
  RunResult r =
      RunToExit(SLUICE_SOURCE_DIR "/scripts/certs", args, absl::Seconds(60));
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("scripts/certs exited with ",
                                            r.exit_code, ":\n", r.output));
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ChannelCredentials> PemCredentials(
    const std::string& ca_file, const std::string& cert_file,
    const std::string& key_file) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadWholeFile(ca_file).value_or("");
  if (!cert_file.empty()) {
    tls.pem_cert_chain = ReadWholeFile(cert_file).value_or("");
    tls.pem_private_key = ReadWholeFile(key_file).value_or("");
  }
  return grpc::SslCredentials(tls);
}

std::shared_ptr<grpc::ChannelCredentials> TestCredentials(
    const std::string& certs_dir, const std::string& client,
    const std::string& token) {
  const std::string prefix = absl::StrCat(certs_dir, "/client-", client);
  std::shared_ptr<grpc::ChannelCredentials> channel =
      client.empty() ? PemCredentials(certs_dir + "/ca.pem")
                     : PemCredentials(certs_dir + "/ca.pem", prefix + ".pem",
                                      prefix + ".key");
  if (token.empty()) return channel;
  return grpc::CompositeChannelCredentials(channel,
                                           grpc::AccessTokenCredentials(token));
}

std::string SluicedBinary() {
  const char* env = std::getenv("SLUICED");
  return env != nullptr ? env : SLUICED_PATH;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool HealthServing(const std::string& address,
                   std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::GenericStub stub(grpc::CreateChannel(
      address, credentials != nullptr ? credentials
                                      : grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  grpc::Slice empty("", 0);  // HealthCheckRequest{service: ""}: no bytes
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  std::vector<grpc::Slice> slices;
  if (!status.ok() || !response.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  // HealthCheckResponse{status: SERVING (1)} is field 1, varint 1.
  return bytes == std::string("\x08\x01", 2);
}

absl::StatusOr<std::string> HttpGet(const std::string& address,
                                    const std::string& path) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError("address: want host:port");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", address));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", address, "\r\n\r\n");
  if (::write(fd, request.data(), request.size()) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return absl::UnavailableError("short write");
  }
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) {
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) {
    return absl::UnavailableError("not an HTTP response");
  }
  return response.substr(body + 4);
}

RunResult RunToExit(const std::string& binary,
                    const std::vector<std::string>& args,
                    absl::Duration timeout) {
  const std::string log = std::filesystem::temp_directory_path() /
                          absl::StrCat("sluice-run-", ::getpid(), ".log");
  std::filesystem::remove(log);
  pid_t pid = Spawn(binary, args, log);
  RunResult result;
  result.exit_code = WaitPid(pid, timeout);
  if (result.exit_code == -1) {
    ::kill(pid, SIGKILL);
    WaitPid(pid, absl::Seconds(5));
  }
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  result.output = text.str();
  std::filesystem::remove(log);
  return result;
}

SluicedProcess::SluicedProcess(
    std::string binary, std::vector<std::string> args, std::string log_path,
    std::string address, std::shared_ptr<grpc::ChannelCredentials> credentials)
    : binary_(std::move(binary)),
      args_(std::move(args)),
      log_path_(std::move(log_path)),
      address_(std::move(address)),
      credentials_(std::move(credentials)),
      cluster_(sluice::v1::Cluster::NewStub(
          FastReconnectChannel(address_, credentials_))) {}

SluicedProcess::~SluicedProcess() { Kill(); }

absl::Status SluicedProcess::Start() {
  if (pid_ > 0) return absl::FailedPreconditionError("already running");
  pid_ = Spawn(binary_, args_, log_path_);
  // Ready once it answers GetClusterStatus.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    // A fresh channel per probe: a channel that failed to connect waits out
    // gRPC's reconnect backoff (seconds) before it tries again.
    cluster_ = sluice::v1::Cluster::NewStub(
        FastReconnectChannel(address_, credentials_));
    sluice::v1::GetClusterStatusResponse response;
    if (Status(&response, false).ok()) return absl::OkStatus();
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("sluiced exited at start:\n", Log()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("sluiced at ", address_, " not ready in 20 s:\n", Log()));
}

void SluicedProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  WaitPid(pid_, absl::Seconds(10));
  pid_ = -1;
}

int SluicedProcess::Terminate(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int code = WaitPid(pid_, timeout);
  if (code != -1) pid_ = -1;
  return code;
}

std::string SluicedProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status SluicedProcess::Status(
    sluice::v1::GetClusterStatusResponse* response, bool include_groups) const {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(1));
  sluice::v1::GetClusterStatusRequest request;
  request.set_include_groups(include_groups);
  grpc::Status s = cluster_->GetClusterStatus(&context, request, response);
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

TestCluster::TestCluster(int nodes, std::string root, ClusterOptions options)
    : root_(std::move(root)) {
  if (!options.certs_dir.empty()) {
    credentials_ = TestCredentials(options.certs_dir, "admin");
  }
  std::filesystem::remove_all(root_);
  std::filesystem::create_directories(root_);
  std::map<int, std::string> addresses;
  for (int id = 1; id <= nodes; ++id) {
    addresses[id] = absl::StrCat("127.0.0.1:", FreePort());
  }
  std::vector<std::string> peers;
  for (const auto& [id, address] : addresses) {
    peers.push_back(absl::StrCat(id, "=", address));
  }
  for (const auto& [id, address] : addresses) {
    const std::string metrics = absl::StrCat("127.0.0.1:", FreePort());
    std::vector<std::string> args = {
        absl::StrCat("--node-id=", id),
        absl::StrCat("--listen=", address),
        absl::StrCat("--peers=", absl::StrJoin(peers, ",")),
        absl::StrCat("--data-dir=", data_dir(id)),
        "--tick-ms=20",
        absl::StrCat("--metrics-listen=", metrics)};
    if (!options.certs_dir.empty()) {
      const std::string& d = options.certs_dir;
      args.push_back(absl::StrCat("--tls-cert=", d, "/node-", id, ".pem"));
      args.push_back(absl::StrCat("--tls-key=", d, "/node-", id, ".key"));
      args.push_back(absl::StrCat("--tls-ca=", d, "/ca.pem"));
    }
    if (!options.auth_config.empty()) {
      args.push_back(absl::StrCat("--auth-config=", options.auth_config));
    }
    for (const std::string& flag : options.extra_flags) args.push_back(flag);
    nodes_.push_back(std::make_unique<SluicedProcess>(
        SluicedBinary(), std::move(args),
        absl::StrCat(root_, "/node-", id, ".log"), address, credentials_));
    nodes_.back()->set_metrics_address(metrics);
  }
}

std::string TestCluster::data_dir(int id) const {
  return absl::StrCat(root_, "/node-", id);
}

absl::Status TestCluster::StartAll() {
  for (auto& node : nodes_) {
    if (absl::Status s = node->Start(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

uint64_t TestCluster::WaitForLeader(uint64_t group, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    uint64_t agreed = 0;
    bool all = true;
    for (auto& node : nodes_) {
      if (!node->running()) continue;
      sluice::v1::GetClusterStatusResponse response;
      uint64_t leader = 0;
      if (node->Status(&response).ok()) {
        for (const auto& g : response.groups()) {
          if (g.group_id() == group) leader = g.leader_node_id();
        }
      }
      // A leader that is not running is a stale belief, not an answer.
      const bool leader_running = leader != 0 && leader <= nodes_.size() &&
                                  nodes_[leader - 1]->running();
      if (!leader_running || (agreed != 0 && leader != agreed)) {
        all = false;
        break;
      }
      agreed = leader;
    }
    if (all && agreed != 0) return agreed;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return 0;
}

}  // namespace sluice::testing
