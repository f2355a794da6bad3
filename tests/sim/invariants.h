// InvariantChecker: the safety properties of Raft (paper, Figure 3), checked
// as the simulation runs. Each check is incremental (O(1) per event, or O(log
// length) per election) so that it can run after every single step.
//
//   Election Safety      at most one leader per term.
//   Leader Append-Only   a leader never truncates its own log in its term.
//   Log Matching         an (index, term) pair names one entry everywhere;
//                        full pairwise prefix comparison in CheckLogsMatch.
//   Leader Completeness  a new leader holds every entry committed before it.
//   State Machine Safety every node applies the same entry at each index;
//                        snapshots carry the same state as applying the log.
//
// Findings are recorded, not thrown: the first one fails the run with a
// message naming nodes, terms and indexes.
#ifndef SLUICE_TESTS_SIM_INVARIANTS_H_
#define SLUICE_TESTS_SIM_INVARIANTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "tests/sim/sim_node.h"

namespace sluice::sim {

class InvariantChecker {
 public:
  using Entry = sluice::internal::raft::Entry;

  // The group starts from a shared snapshot at `index` whose state-machine
  // hash is `hash` (SimNode::BootstrapSnapshot).
  void Bootstrap(uint64_t index, uint64_t hash);

  bool ok() const { return !violation_.has_value(); }
  const std::string& violation() const { return *violation_; }

  // After each event, for every running node.
  void ObserveNode(const SimNode& node);
  // Entries a node made durable.
  void ObservePersisted(uint64_t node, const std::vector<Entry>& entries);
  // Entries a node applied (in order), with its state-machine hash after each.
  void ObserveApplied(uint64_t node, const Entry& entry, uint64_t hash_after);
  // A node installed a snapshot: its state must equal applying the log.
  void ObserveSnapshot(uint64_t node, uint64_t index, uint64_t hash);
  // Pairwise Log Matching over the held logs of every running node.
  void CheckLogsMatch(const std::vector<const SimNode*>& nodes);

  // Highest index applied anywhere (known committed).
  uint64_t max_committed() const { return committed_.size(); }
  uint64_t leaders_elected() const { return leader_by_term_.size(); }

 private:
  void Fail(std::string message);
  void CheckLeaderCompleteness(const SimNode& node, uint64_t term);

  std::optional<std::string> violation_;
  // Election Safety: term -> leader.
  std::map<uint64_t, uint64_t> leader_by_term_;
  // Leader Append-Only: per node, (term as leader, last index seen).
  absl::flat_hash_map<uint64_t, std::pair<uint64_t, uint64_t>> leader_last_;
  // Log Matching: (index, term) -> fingerprint of the entry.
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint64_t> entry_print_;
  // State Machine Safety: committed_[i-1] = (term, fingerprint) of index i,
  // hash_after_[i-1] = state-machine hash after applying index i.
  std::vector<std::pair<uint64_t, uint64_t>> committed_;
  std::vector<uint64_t> hash_after_;
};

// Fingerprint of an entry's content (type, data).
uint64_t EntryFingerprint(const sluice::internal::raft::Entry& entry);

}  // namespace sluice::sim

#endif  // SLUICE_TESTS_SIM_INVARIANTS_H_
