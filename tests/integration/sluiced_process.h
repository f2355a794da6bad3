// Real sluiced processes on loopback for integration tests: free ports,
// fork/exec, readiness over gRPC, SIGKILL / SIGTERM, restart on the same
// data dir. Every wait has a deadline.
#ifndef SLUICE_TESTS_INTEGRATION_SLUICED_PROCESS_H_
#define SLUICE_TESTS_INTEGRATION_SLUICED_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "sluice/v1/cluster.grpc.pb.h"

namespace sluice::testing {

// A TCP port on 127.0.0.1 nobody listens on right now.
int FreePort();

// grpc.health.v1.Health/Check of the whole server at `address`: true if
// SERVING. `credentials`: nullptr for plaintext.
bool HealthServing(
    const std::string& address,
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// The body of GET http://<address><path>; an error if it cannot be had.
absl::StatusOr<std::string> HttpGet(const std::string& address,
                                    const std::string& path);

// Runs `binary args...` to completion; returns its exit code and stderr.
struct RunResult {
  int exit_code = -1;
  std::string output;
};
RunResult RunToExit(const std::string& binary,
                    const std::vector<std::string>& args,
                    absl::Duration timeout);

class SluicedProcess {
 public:
  // `credentials`: how the fixture itself calls the node (readiness,
  // status); nullptr: plaintext.
  SluicedProcess(
      std::string binary, std::vector<std::string> args, std::string log_path,
      std::string address,
      std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  ~SluicedProcess();  // SIGKILL if still running

  absl::Status Start();
  void Kill();                            // SIGKILL and reap
  int Terminate(absl::Duration timeout);  // SIGTERM, wait; exit code or -1
  bool running() const { return pid_ > 0; }
  const std::string& address() const { return address_; }
  // "host:port" of the Prometheus endpoint; empty if not enabled.
  const std::string& metrics_address() const { return metrics_address_; }
  void set_metrics_address(std::string a) { metrics_address_ = std::move(a); }
  std::string Log() const;

  // GetClusterStatus on this node, with a short deadline.
  absl::Status Status(sluice::v1::GetClusterStatusResponse* response,
                      bool include_groups = true) const;

 private:
  std::string binary_;
  std::vector<std::string> args_;
  std::string log_path_;
  std::string address_;
  std::string metrics_address_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  pid_t pid_ = -1;
  std::unique_ptr<sluice::v1::Cluster::Stub> cluster_;
};

// How a TestCluster's nodes run.
struct ClusterOptions {
  // A folder made by scripts/certs (MakeTestCerts): with it every node runs
  // with TLS, and the fixture calls them with the client certificate
  // "admin". Empty: plaintext.
  std::string certs_dir;
  // --auth-config for every node (needs certs_dir).
  std::string auth_config;
  // More sluiced flags for every node.
  std::vector<std::string> extra_flags;
};

// Runs scripts/certs into `dir` for `nodes` nodes and the given client
// names ("admin" always); an error with its output if it fails.
absl::Status MakeTestCerts(const std::string& dir, int nodes,
                           const std::vector<std::string>& clients);

// TLS credentials trusting the PEM CA in `ca_file`, presenting the PEM
// certificate and key in `cert_file` and `key_file` (empty: none).
std::shared_ptr<grpc::ChannelCredentials> PemCredentials(
    const std::string& ca_file, const std::string& cert_file = "",
    const std::string& key_file = "");

// TLS credentials trusting `certs_dir`/ca.pem, with the client certificate
// `client` (empty: none) and a bearer `token` (empty: none).
std::shared_ptr<grpc::ChannelCredentials> TestCredentials(
    const std::string& certs_dir, const std::string& client,
    const std::string& token = "");

// N nodes with ids 1..N, peers on free loopback ports, data under `root`.
class TestCluster {
 public:
  TestCluster(int nodes, std::string root, ClusterOptions options = {});
  // How the fixture calls the nodes: the admin certificate with TLS, else
  // plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials() const {
    return credentials_;
  }
  absl::Status StartAll();
  SluicedProcess& node(int id) { return *nodes_[id - 1]; }
  int size() const { return static_cast<int>(nodes_.size()); }
  // Waits until every running node reports the same running leader for
  // `group`; returns it (0 on timeout).
  uint64_t WaitForLeader(uint64_t group, absl::Duration timeout);
  std::string data_dir(int id) const;

 private:
  std::string root_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::vector<std::unique_ptr<SluicedProcess>> nodes_;
};

std::string SluicedBinary();

}  // namespace sluice::testing

#endif  // SLUICE_TESTS_INTEGRATION_SLUICED_PROCESS_H_
