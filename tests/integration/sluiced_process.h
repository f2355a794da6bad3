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
// SERVING.
bool HealthServing(const std::string& address);

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
  SluicedProcess(std::string binary, std::vector<std::string> args,
                 std::string log_path, std::string address);
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
  pid_t pid_ = -1;
  std::unique_ptr<sluice::v1::Cluster::Stub> cluster_;
};

// N nodes with ids 1..N, peers on free loopback ports, data under `root`.
class TestCluster {
 public:
  TestCluster(int nodes, std::string root);
  absl::Status StartAll();
  SluicedProcess& node(int id) { return *nodes_[id - 1]; }
  int size() const { return static_cast<int>(nodes_.size()); }
  // Waits until every running node reports the same running leader for
  // `group`; returns it (0 on timeout).
  uint64_t WaitForLeader(uint64_t group, absl::Duration timeout);
  std::string data_dir(int id) const;

 private:
  std::string root_;
  std::vector<std::unique_ptr<SluicedProcess>> nodes_;
};

std::string SluicedBinary();

}  // namespace sluice::testing

#endif  // SLUICE_TESTS_INTEGRATION_SLUICED_PROCESS_H_
