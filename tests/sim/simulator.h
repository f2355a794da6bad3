// Simulator: one seeded, deterministic run of a Raft group of 3 or 5 members
// (plus spare nodes for membership changes) in virtual time.
//
//   phase 1 (faults): client proposals flow to whoever believes it leads,
//     while a nemesis drops, delays, duplicates and reorders messages,
//     partitions nodes (isolate one, isolate the leader, majority/minority,
//     one-way links), crashes nodes (losing unsynced writes) and restarts
//     them, transfers leadership and changes membership;
//   phase 2 (heal): every fault is lifted and crashed members restart; within
//     `liveness_deadline` a leader must be elected and a fresh proposal
//     applied by every live voter.
// InvariantChecker runs after every event. The same seed produces the same
// events in the same order: the trace hash proves it.
#ifndef SLUICE_TESTS_SIM_SIMULATOR_H_
#define SLUICE_TESTS_SIM_SIMULATOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "base/random.h"
#include "tests/sim/invariants.h"
#include "tests/sim/sim_network.h"
#include "tests/sim/sim_node.h"

namespace sluice::sim {

struct SimOptions {
  uint64_t seed = 1;
  int voters = 3;  // initial members: ids 1..voters
  int spares = 2;  // ids voters+1..voters+spares, for membership changes
  SimTime fault_phase = 8'000'000;        // 8 s of faults
  SimTime liveness_deadline = 6'000'000;  // then 6 s to elect and commit
  SimTime tick_interval = 10'000;         // 10 ms per Raft tick
  bool membership_changes = true;
  // Quiescence as NodeHost does it (raft/README.md): leaders quiesce before
  // ticking, nodes exchange keepalives through the faulty network and wake
  // the groups of a peer silent for an election timeout; proposals come with
  // idle gaps so that the group does go quiet.
  bool quiesce = false;
  bool record_trace = false;  // keep a readable line per event
  bool print_trace = false;   // and print it at once (survives a crash)
  SimNodeOptions node;
};

struct SimStats {
  uint64_t events = 0;
  uint64_t messages_delivered = 0;
  uint64_t proposals = 0;
  uint64_t committed = 0;
  uint64_t leaders = 0;
  uint64_t crashes = 0;
  uint64_t partitions = 0;
  uint64_t transfers = 0;
  uint64_t conf_changes = 0;
  uint64_t snapshots_installed = 0;
  uint64_t quiesces = 0;    // a leader went quiet
  uint64_t peers_down = 0;  // a node declared a silent peer down
};

struct SimResult {
  bool ok = true;
  std::string failure;      // what broke, with nodes, terms and indexes
  uint64_t trace_hash = 0;  // fingerprint of every event, in order
  SimStats stats;
  std::vector<std::string> trace;  // when SimOptions::record_trace
};

class Simulator {
 public:
  explicit Simulator(const SimOptions& options);
  SimResult Run();

 private:
  enum class EventKind {
    kTick,
    kDeliver,
    kFsyncDone,
    kPropose,
    kNemesis,
    kRestart,
    kKeepalive  // node <- message.from(), no Raft content
  };
  struct Event {
    SimTime time;
    uint64_t seq;  // ties broken by scheduling order: deterministic
    EventKind kind;
    uint64_t node = 0;
    uint64_t epoch = 0;
    sluice::internal::raft::Message message;
    bool operator>(const Event& other) const {
      return time != other.time ? time > other.time : seq > other.seq;
    }
  };

  void Schedule(SimTime at, EventKind kind, uint64_t node = 0,
                uint64_t epoch = 0,
                sluice::internal::raft::Message message = {});
  void Handle(const Event& event);
  void Send(const std::vector<sluice::internal::raft::Message>& messages);
  void DrainReady(SimNode& node);
  // Quiescence: before a node's tick, and its liveness bookkeeping after.
  void QuiesceTick(SimNode& node);
  void Heard(SimNode& node, uint64_t from);
  void TickLiveness(SimNode& node);
  void FinishWrite(SimNode& node);
  void StartNode(SimNode& node);
  void CrashNode(SimNode& node);
  void Propose();
  void Nemesis();
  void ChangeMembership(SimNode& leader);
  void Heal();
  void CheckInvariants(const Event& event);
  bool LivenessReached();
  void Trace(const std::string& line);
  void HashIn(uint64_t value);

  SimNode* Node(uint64_t id);
  SimNode* Leader();  // a running node that believes it leads (highest term)
  std::vector<uint64_t> AllIds() const;
  std::vector<uint64_t> Members(const SimNode& node) const;

  SimOptions options_;
  Random random_;
  SimNetwork network_;
  InvariantChecker checker_;
  std::map<uint64_t, std::unique_ptr<SimNode>> nodes_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  SimTime now_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t proposal_counter_ = 0;
  bool healed_ = false;
  // Liveness: the first proposal made after healing, and whether it landed.
  uint64_t marker_ = 0;
  SimResult result_;
};

}  // namespace sluice::sim

#endif  // SLUICE_TESTS_SIM_SIMULATOR_H_
