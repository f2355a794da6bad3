// InProcessNetwork: a hub connecting several NodeHosts in one process, for
// tests. Each node gets a Transport endpoint (Endpoint(id)); Send delivers
// straight into the peer's handler (which posts to the peer's loop), so per
// peer order holds. Faults: links can be cut (both directions), nodes
// isolated, and messages dropped at random with a seeded generator. A send
// over a cut link, or to a node that is not started, is dropped and reported
// to the sender as unreachable.
//
// Snapshots are read on the network's own thread, delivered whole, and
// reported back to the sender (failed if the link is cut or the receiver is
// down).
//
// Thread-safe (locks through raft/leveldb/mutex_lock.h so that TSan sees
// them). Owns its endpoints; outlives every host using it.
#ifndef SLUICE_BROKER_HOST_IN_PROCESS_TRANSPORT_H_
#define SLUICE_BROKER_HOST_IN_PROCESS_TRANSPORT_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "base/random.h"
#include "broker/host/transport.h"

namespace sluice::broker {

class InProcessNetwork {
 public:
  struct Stats {
    uint64_t delivered = 0;  // messages handed to a receiver
    uint64_t dropped = 0;    // messages lost to cuts, drops or a down node
    uint64_t batches = 0;    // Send calls delivered, keepalives included
    uint64_t snapshots_delivered = 0;
    uint64_t snapshots_failed = 0;
  };

  explicit InProcessNetwork(uint64_t seed = 1);
  ~InProcessNetwork();
  InProcessNetwork(const InProcessNetwork&) = delete;
  InProcessNetwork& operator=(const InProcessNetwork&) = delete;

  // The endpoint of `node`, created on first use; stable for the network's
  // life (a restarted host starts the same endpoint again).
  Transport* Endpoint(raft::NodeId node);

  void Cut(raft::NodeId a, raft::NodeId b);
  void Heal(raft::NodeId a, raft::NodeId b);
  // Cuts every link of `node` / heals them, and a Blackhole (links cut with
  // Cut stay cut).
  void Isolate(raft::NodeId node);
  void Rejoin(raft::NodeId node);
  // Like Isolate, but as a firewall that drops packets: senders are not told
  // (no ReportUnreachable), so only silence shows the node is gone.
  void Blackhole(raft::NodeId node);
  // Probability in [0, 1] that any one message is lost.
  void SetDropRate(double p);
  Stats stats() const;

 private:
  class EndpointImpl;
  struct PendingSnapshot {
    raft::NodeId from;
    OutgoingSnapshot snapshot;
  };

  EndpointImpl* Find(raft::NodeId node);
  bool Linked(raft::NodeId a, raft::NodeId b) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void Route(raft::NodeId from, raft::NodeId to,
             std::vector<sluice::internal::raft::Message> messages);
  void QueueSnapshot(raft::NodeId from, OutgoingSnapshot snapshot);
  void RunSnapshots();
  bool DeliverSnapshot(raft::NodeId from, OutgoingSnapshot& snapshot);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<raft::NodeId, std::unique_ptr<EndpointImpl>> endpoints_
      ABSL_GUARDED_BY(mu_);
  std::set<std::pair<raft::NodeId, raft::NodeId>> cuts_ ABSL_GUARDED_BY(mu_);
  std::set<raft::NodeId> isolated_ ABSL_GUARDED_BY(mu_);
  std::set<raft::NodeId> blackholed_ ABSL_GUARDED_BY(mu_);
  double drop_rate_ ABSL_GUARDED_BY(mu_) = 0;
  Random random_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::deque<PendingSnapshot> snapshots_ ABSL_GUARDED_BY(mu_);
  absl::CondVar work_;  // snapshots_ or stopping_ changed
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread snapshot_thread_;  // last: starts after the rest exists
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_IN_PROCESS_TRANSPORT_H_
