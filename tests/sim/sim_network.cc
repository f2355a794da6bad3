#include "tests/sim/sim_network.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sluice::sim {

std::vector<SimTime> SimNetwork::PlanDelivery(uint64_t from, uint64_t to) {
  std::vector<SimTime> delays;
  if (Blocked(from, to)) return delays;
  // Draw every random number on every path so that the sequence of draws does
  // not depend on earlier outcomes in surprising ways.
  const bool drop = random_->Bernoulli(faults_.drop_probability);
  const bool duplicate = random_->Bernoulli(faults_.duplicate_probability);
  const SimTime first = random_->Range(faults_.min_delay, faults_.max_delay);
  const SimTime second = random_->Range(faults_.min_delay, faults_.max_delay);
  if (drop) return delays;
  delays.push_back(first);
  if (duplicate) delays.push_back(second);
  return delays;
}

void SimNetwork::Isolate(uint64_t node, const std::vector<uint64_t>& all) {
  for (uint64_t other : all) {
    if (other != node) BlockBoth(node, other);
  }
}

void SimNetwork::Split(const std::vector<uint64_t>& side,
                       const std::vector<uint64_t>& all) {
  for (uint64_t a : side) {
    for (uint64_t b : all) {
      if (std::find(side.begin(), side.end(), b) == side.end()) {
        BlockBoth(a, b);
      }
    }
  }
}

std::string SimNetwork::Describe() const {
  if (blocked_.empty()) return "healed";
  std::string out = "blocked:";
  for (const auto& [from, to] : blocked_) {
    absl::StrAppend(&out, " ", from, "->", to);
  }
  return out;
}

}  // namespace sluice::sim
