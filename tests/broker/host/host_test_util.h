// HostCluster: N NodeHosts in one process over an InProcessNetwork, each
// with a real LevelDB in its own temp directory, hosting queue partitions.
// Hosts can be stopped (destroyed) and restarted from their directory.
// Waits are bounded by deadlines; nothing sleeps a fixed time and hopes.
// Test-only; call from the test thread.
#ifndef SLUICE_TESTS_BROKER_HOST_HOST_TEST_UTIL_H_
#define SLUICE_TESTS_BROKER_HOST_HOST_TEST_UTIL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "broker/host/in_process_transport.h"
#include "broker/host/latch.h"
#include "broker/host/node_host.h"
#include "broker/host/queue_partition.h"
#include "sluice/internal/commands.pb.h"

namespace sluice::broker::testing {

// Polls `pred` until it holds or `timeout` passes.
bool PollUntil(const std::function<bool()>& pred,
               absl::Duration timeout = absl::Seconds(30));

// Holds a storage writer before each batch while closed (backpressure tests).
class WriterGate {
 public:
  void Close();
  void Open();
  void Pass();  // called on the writer thread

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
};

class HostCluster {
 public:
  // `tweak` adjusts each node's options before it opens.
  explicit HostCluster(int nodes,
                       std::function<void(NodeHost::Options&)> tweak = nullptr);
  ~HostCluster();

  InProcessNetwork& network() { return network_; }
  // Node `id`'s LevelDB directory (open it only while the node is stopped).
  std::string data_dir(int id) const;
  // Node ids are 1..n; host(id) is null while stopped.
  NodeHost* host(int id) { return hosts_[id - 1].get(); }
  WriterGate& gate(int id) { return *gates_[id - 1]; }
  std::vector<int> live() const;

  void Start(int id);
  void Stop(int id);

  // Creates `group` on every live node, founded by nodes 1..voters (all
  // nodes when 0); the others join empty.
  void CreateGroup(raft::GroupId group, int voters = 0);
  // The leader all live members agree on (nullopt on timeout); nodes that
  // have not joined yet are left out.
  std::optional<int> WaitForLeader(raft::GroupId group,
                                   absl::Duration timeout = absl::Seconds(30));
  // Waits until the live nodes have applied the same index, with the state
  // machine's writes durable; returns it.
  std::optional<raft::Index> WaitConverged(
      raft::GroupId group, absl::Duration timeout = absl::Seconds(30));
  // The queue digest of every live node, taken once converged.
  std::vector<std::string> Digests(raft::GroupId group);

  absl::StatusOr<Applied> Propose(int id, raft::GroupId group,
                                  const internal::Command& command);
  // Plans a receive on the leader `id` and proposes the grant.
  absl::StatusOr<ApplyResult> Receive(int id, raft::GroupId group,
                                      uint32_t max);
  // Runs fn with node id's queue (loop thread).
  absl::Status WithQueue(int id, raft::GroupId group,
                         const std::function<void(QueueStateMachine&)>& fn);

  ManualClock& clock() { return clock_; }

 private:
  NodeHost::Options OptionsFor(int id);

  std::string root_;
  ManualClock clock_{absl::FromUnixSeconds(1000)};
  InProcessNetwork network_{7};
  std::function<void(NodeHost::Options&)> tweak_;
  std::vector<std::unique_ptr<WriterGate>> gates_;
  std::vector<std::unique_ptr<NodeHost>> hosts_;
};

internal::Command SendCommand(const std::string& body);
internal::Command DeleteCommand(const LeasedMessage& leased);

}  // namespace sluice::broker::testing

#endif  // SLUICE_TESTS_BROKER_HOST_HOST_TEST_UTIL_H_
