#include "broker/host/proposal_tracker.h"

#include <utility>

#include "base/logging.h"

namespace sluice::broker {

void ProposalTracker::Add(raft::Index index, raft::Term term,
                          ProposeCallback callback) {
  auto [it, inserted] = pending_.try_emplace(index);
  SLUICE_CHECK(inserted) << "two proposals at index " << index.value()
                         << " term " << term.value();
  it->second = Pending{term, std::move(callback)};
}

void ProposalTracker::OnApplied(raft::Index index, raft::Term term,
                                std::any& result,
                                const absl::Status& overwritten,
                                std::vector<Resolved>* out) {
  while (!pending_.empty() && pending_.begin()->first <= index) {
    auto node = pending_.extract(pending_.begin());
    Pending& p = node.mapped();
    if (node.key() == index && p.term == term) {
      // Keys are unique, so `result` is moved at most once.
      out->push_back(
          {std::move(p.callback),
           Applied{index,
                   std::move(result)}});  // NOLINT(bugprone-use-after-move)
    } else {
      out->push_back({std::move(p.callback), overwritten});
    }
  }
}

void ProposalTracker::FailStale(bool leader, raft::Term term,
                                const absl::Status& status,
                                std::vector<Resolved>* out) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (leader && it->second.term == term) {
      ++it;
      continue;
    }
    out->push_back({std::move(it->second.callback), status});
    it = pending_.erase(it);
  }
}

bool ProposalTracker::HasStale(bool leader, raft::Term term) const {
  if (!leader) return !pending_.empty();
  for (const auto& [index, p] : pending_) {
    if (p.term != term) return true;
  }
  return false;
}

void ProposalTracker::FailAll(const absl::Status& status,
                              std::vector<Resolved>* out) {
  FailStale(false, raft::Term(0), status, out);
}

}  // namespace sluice::broker
