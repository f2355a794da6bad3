// TestNetwork: a handful of RawNodes over MemoryStorage, wired by a message
// queue the test controls. It plays the host exactly as raft/README.md asks
// (persist, then send after-persist messages, apply, Advance), and lets a test
// drop, hold or hand-deliver messages, isolate nodes and restart them from
// their storage. Single-threaded, no clock: time is Tick().
#ifndef SLUICE_TESTS_RAFT_TEST_NETWORK_H_
#define SLUICE_TESTS_RAFT_TEST_NETWORK_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "base/random.h"
#include "raft/core/raw_node.h"
#include "raft/storage/memory_storage.h"

namespace sluice::raft::testing {

using sluice::internal::raft::ConfChange;
using sluice::internal::raft::ConfState;
using sluice::internal::raft::Entry;
using sluice::internal::raft::Message;
using sluice::internal::raft::MessageType;

inline constexpr GroupId kGroup{7};

// One member: its durable storage survives Restart(); the RawNode does not.
struct TestNode {
  NodeId id;
  Config config;
  std::unique_ptr<Random> random;
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> node;
  // Data of applied normal entries with non-empty data, in order.
  std::vector<std::string> applied;
  std::vector<Entry> applied_entries;
  std::vector<ReadState> read_states;
  Index applied_index;
};

ConfState Voters(std::vector<uint64_t> voters,
                 std::vector<uint64_t> learners = {});

// Config with small timeouts (election 10, heartbeat 1), pre-vote and
// check-quorum as given.
Config TestConfig(NodeId id, bool pre_vote = true, bool check_quorum = true);

class TestNetwork {
 public:
  // Nodes 1..n, all voters, using `tweak` to adjust each Config.
  explicit TestNetwork(int n, std::function<void(Config&)> tweak = nullptr);

  // Adds a node with an empty log and the given membership (e.g. a learner
  // about to be added, with an empty ConfState).
  TestNode& AddNode(NodeId id, const ConfState& cs);
  // Rebuilds the RawNode from its storage (a crash and restart; the storage
  // keeps what was durable, which here is everything written).
  void Restart(NodeId id);

  TestNode& at(NodeId id) { return *nodes_.at(id); }
  TestNode& at(uint64_t id) { return at(NodeId(id)); }
  RawNode& node(uint64_t id) { return *at(id).node; }
  const Raft& raft(uint64_t id) { return at(id).node->raft(); }

  // Makes `id`'s state machine snapshot at its applied index and compacts
  // its log up to there (what a host does periodically).
  void SnapshotAndCompact(uint64_t id);
  // Handles one Ready of `id` like a synchronous host. Returns false if none.
  bool ProcessReady(NodeId id);
  // Delivers queued messages and processes Readies until nothing moves.
  void Stabilize();
  // Processes every node's Ready once (no delivery).
  void ProcessAllReadies();
  // Delivers (Steps) every queued message once, in order; messages produced
  // meanwhile stay queued.
  void DeliverQueued();
  void Tick(uint64_t id, int n = 1);
  void TickAll(int n = 1);
  // Campaign on `id`, then stabilize; returns true if it became leader.
  bool Elect(uint64_t id);
  absl::Status Propose(uint64_t id, std::string data);
  NodeId Leader();

  // Faults.
  void Isolate(uint64_t id) { isolated_.insert(NodeId(id)); }
  void Heal() {
    isolated_.clear();
    cut_.clear();
  }
  void Cut(uint64_t a, uint64_t b) {
    cut_.insert({NodeId(a), NodeId(b)});
    cut_.insert({NodeId(b), NodeId(a)});
  }
  // Extra drop rule; return true to drop a message.
  void set_drop(std::function<bool(const Message&)> drop) {
    drop_ = std::move(drop);
  }
  // Whether Deliver reports snapshot success to the sender (as a transport
  // does once the stream completes). On by default.
  void set_report_snapshots(bool on) { report_snapshots_ = on; }
  std::deque<Message>& queue() { return queue_; }
  // Removes and returns queued messages matching `pred`.
  std::vector<Message> Take(std::function<bool(const Message&)> pred);
  void Deliver(const Message& m);

 private:
  bool Dropped(const Message& m) const;

  std::function<void(Config&)> tweak_;
  std::map<NodeId, std::unique_ptr<TestNode>> nodes_;
  std::deque<Message> queue_;
  absl::btree_set<NodeId> isolated_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::function<bool(const Message&)> drop_;
  bool report_snapshots_ = true;
};

// Matchers for Take().
std::function<bool(const Message&)> OfType(MessageType type);
std::function<bool(const Message&)> OfType(MessageType type, uint64_t to);

}  // namespace sluice::raft::testing

#endif  // SLUICE_TESTS_RAFT_TEST_NETWORK_H_
