// PartitionLeaders: the queue partitions this node leads, each with its
// PartitionOps, ready to serve requests. Lives on the host's loop thread
// (every method must be called there: from the host's callbacks or from a
// task posted with NodeHost::Post).
//
// A partition becomes servable when this node is its Raft leader, the
// metadata names its queue, and the leader has committed the queue's
// attributes in the partition's log (a SetQueueAttributes proposed on
// taking leadership and after every UpdateQueue): followers and a future
// leader then apply every later command with the same attributes.
//
// Long-poll receives wait here: a waiter is woken when a send or a release
// makes a message visible on this leader, when a tick finds one visible
// (delays and leases running out), at its deadline, or when leadership is
// lost.
#ifndef SLUICE_BROKER_API_PARTITION_LEADERS_H_
#define SLUICE_BROKER_API_PARTITION_LEADERS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "broker/api/host_proposer.h"
#include "broker/host/group_status.h"
#include "broker/host/node_host.h"
#include "broker/partition/partition_ops.h"
#include "sluice/internal/metadata.pb.h"

namespace sluice::broker {

class PartitionLeaders {
 public:
  struct Options {
    // May be set later (set_host): leaderships reported before that are
    // taken on the next Tick.
    NodeHost* host = nullptr;
    const Clock* wall_clock = SystemClock::Get();
    const Clock* clock = MonotonicClock::Get();  // the queues' clock
    MoveSender* move_sender = nullptr;           // may be null
  };

  // One led partition.
  struct Lead {
    raft::GroupId group;
    uint64_t queue_id = 0;
    uint32_t partition = 0;
    uint32_t partition_count = 1;
    sluice::internal::QueueRecord record;  // as last seen in the metadata
    bool configured = false;               // attributes of `record` committed
    bool config_in_flight = false;
    int64_t configured_version = -1;  // record.updated_micros committed
    QueueStateMachine* queue = nullptr;
    std::unique_ptr<HostProposer> proposer;
    std::unique_ptr<PartitionOps> ops;
    absl::Time last_transfer = absl::InfinitePast();  // Options::clock
  };

  explicit PartitionLeaders(Options options);
  ~PartitionLeaders();
  PartitionLeaders(const PartitionLeaders&) = delete;
  PartitionLeaders& operator=(const PartitionLeaders&) = delete;

  void set_host(NodeHost* host) { host_.store(host); }
  // Before any partition is taken (i.e. before the host runs elections that
  // matter: set together with the host).
  void set_move_sender(MoveSender* sender) { move_sender_.store(sender); }

  void OnLeaderChange(const GroupStatus& status);
  void OnMetadata(const sluice::internal::MetadataState& state);

  // The servable partition, or UNAVAILABLE: NOT_LEADER (with the host's
  // leader hint payload) or "starting" while the attributes commit.
  absl::StatusOr<Lead*> Find(raft::GroupId group);
  bool Leads(raft::GroupId group) const { return leads_.count(group) > 0; }
  // True while this node leads `group` but its attributes are committing:
  // a request can wait for that (WhenReady) instead of failing.
  bool Starting(raft::GroupId group) const;
  // Runs `fn` once `group` is servable, or no longer led here, or at
  // shutdown (then Find tells which).
  void WhenReady(raft::GroupId group, std::function<void()> fn);

  // Long poll: `wake(true)` once a receive on `group` may find something,
  // `wake(false)` at `deadline` (on Options::clock) or when the partition is
  // no longer led here. Exactly once.
  void Wait(raft::GroupId group, absl::Time deadline,
            std::function<void(bool maybe_visible)> wake);
  // A send or release on `group` may have made messages visible.
  void Notify(raft::GroupId group);

  // Periodic: every leader's PartitionOps::Tick, waiter deadlines and
  // visibility. Call every few tens of milliseconds.
  void Tick();
  // Periodic, slower (every second or so): hands each partition led here
  // back to its preferred leader (the placement's) when that node is an
  // up-to-date, active member again, so that leaderships rebalance after a
  // node comes back. At most one transfer per partition per `min_gap`.
  void Rebalance(absl::Duration min_gap = absl::Seconds(5));
  // Wakes every waiter (false) and forgets every partition: node shutdown.
  void Shutdown();

  // Gauges of every servable partition led here, for metrics.
  struct Gauges {
    raft::GroupId group;
    std::string queue;
    uint32_t partition = 0;
    QueueStats stats;
  };
  std::vector<Gauges> CollectGauges(absl::Time wall_now);

 private:
  struct Waiter {
    absl::Time deadline;
    std::function<void(bool)> wake;
  };

  void Take(raft::GroupId group);
  void Drop(raft::GroupId group);
  void Configure(Lead& lead);
  void WakeAll(raft::GroupId group, bool maybe_visible);
  void RunWhenReady(raft::GroupId group);
  const sluice::internal::QueueRecord* RecordOf(raft::GroupId group,
                                                uint32_t* partition) const;

  Options options_;
  std::atomic<NodeHost*> host_;
  std::atomic<MoveSender*> move_sender_{nullptr};
  bool shut_down_ = false;
  sluice::internal::MetadataState metadata_;
  std::map<raft::GroupId, std::unique_ptr<Lead>> leads_;
  // Groups this node leads whose queue the metadata does not show yet.
  std::map<raft::GroupId, bool> pending_;
  std::map<raft::GroupId, std::vector<Waiter>> waiters_;
  std::map<raft::GroupId, std::vector<std::function<void()>>> when_ready_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_API_PARTITION_LEADERS_H_
