// SimNetwork: the simulated network between the nodes of one Raft group. It
// decides, at send time, whether a message is dropped, duplicated and how long
// it takes (delays differ per message, so messages reorder), and it holds
// the partition state: a set of blocked directed links. A message whose link
// is blocked when it is sent or when it would arrive is lost.
//
// Pure bookkeeping: the Simulator owns the clock and the event queue and asks
// the network what to do with each message. Not thread-safe (one thread runs a
// simulation).
#ifndef SLUICE_TESTS_SIM_SIM_NETWORK_H_
#define SLUICE_TESTS_SIM_SIM_NETWORK_H_

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/random.h"

namespace sluice::sim {

// Virtual time in microseconds.
using SimTime = int64_t;

struct LinkFaults {
  double drop_probability = 0;
  double duplicate_probability = 0;
  SimTime min_delay = 500;
  SimTime max_delay = 5'000;
};

class SimNetwork {
 public:
  explicit SimNetwork(Random* random) : random_(random) {}

  void set_faults(const LinkFaults& faults) { faults_ = faults; }
  const LinkFaults& faults() const { return faults_; }

  // Delays (from now) at which copies of a message from -> to arrive: empty
  // when dropped, two entries when duplicated.
  std::vector<SimTime> PlanDelivery(uint64_t from, uint64_t to);

  bool Blocked(uint64_t from, uint64_t to) const {
    return blocked_.contains({from, to});
  }
  void Block(uint64_t from, uint64_t to) { blocked_.insert({from, to}); }
  void BlockBoth(uint64_t a, uint64_t b) {
    Block(a, b);
    Block(b, a);
  }
  // Cuts `node` off from every other node in `all`, both ways.
  void Isolate(uint64_t node, const std::vector<uint64_t>& all);
  // Splits `all` into `side` and the rest; no message crosses.
  void Split(const std::vector<uint64_t>& side,
             const std::vector<uint64_t>& all);
  void HealAll() { blocked_.clear(); }
  bool Healed() const { return blocked_.empty(); }
  std::string Describe() const;

 private:
  Random* random_;
  LinkFaults faults_;
  std::set<std::pair<uint64_t, uint64_t>> blocked_;
};

}  // namespace sluice::sim

#endif  // SLUICE_TESTS_SIM_SIM_NETWORK_H_
