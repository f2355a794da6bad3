#include "tests/sim/invariants.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sluice::sim {

uint64_t EntryFingerprint(const sluice::internal::raft::Entry& entry) {
  uint64_t h = 0xcbf29ce484222325ull ^ static_cast<uint64_t>(entry.type());
  for (char c : entry.data()) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

void InvariantChecker::Bootstrap(uint64_t index, uint64_t hash) {
  committed_.assign(index, {index, 0});
  hash_after_.assign(index, hash);
}

void InvariantChecker::Fail(std::string message) {
  if (!violation_) violation_ = std::move(message);
}

void InvariantChecker::ObserveNode(const SimNode& node) {
  const raft::Raft& r = node.raw()->raft();
  const uint64_t term = r.term().value();
  const uint64_t id = node.id();
  if (r.role() != raft::Role::kLeader) {
    leader_last_.erase(id);
    return;
  }
  auto [it, inserted] = leader_by_term_.try_emplace(term, id);
  if (it->second != id) {
    Fail(absl::StrCat("Election Safety: nodes ", it->second, " and ", id,
                      " are both leader in term ", term));
    return;
  }
  const uint64_t last = r.log().LastIndex().value();
  auto seen = leader_last_.find(id);
  if (seen == leader_last_.end() || seen->second.first != term) {
    leader_last_[id] = {term, last};
    CheckLeaderCompleteness(node, term);
    return;
  }
  if (last < seen->second.second) {
    Fail(absl::StrCat("Leader Append-Only: leader ", id, " in term ", term,
                      " shrank its log from ", seen->second.second, " to ",
                      last));
  }
  seen->second.second = last;
}

void InvariantChecker::CheckLeaderCompleteness(const SimNode& node,
                                               uint64_t term) {
  const raft::RaftLog& log = node.raw()->raft().log();
  const uint64_t first = log.FirstIndex().value();
  for (uint64_t index = std::max<uint64_t>(first, 1);
       index <= committed_.size(); ++index) {
    auto t = log.TermAt(raft::Index(index));
    if (!t.ok() || t->value() != committed_[index - 1].first) {
      Fail(absl::StrCat("Leader Completeness: leader ", node.id(), " of term ",
                        term, " lacks committed index ", index, " (term ",
                        committed_[index - 1].first, "), has ",
                        t.ok() ? absl::StrCat("term ", t->value())
                               : std::string(t.status().message())));
      return;
    }
  }
}

void InvariantChecker::ObservePersisted(uint64_t node,
                                        const std::vector<Entry>& entries) {
  for (const Entry& e : entries) {
    uint64_t print = EntryFingerprint(e);
    auto [it, inserted] =
        entry_print_.try_emplace({e.index(), e.term()}, print);
    if (it->second != print) {
      Fail(absl::StrCat("Log Matching: node ", node,
                        " holds a different entry ", "at index ", e.index(),
                        " term ", e.term()));
      return;
    }
  }
}

void InvariantChecker::ObserveApplied(uint64_t node, const Entry& entry,
                                      uint64_t hash_after) {
  const uint64_t index = entry.index();
  const std::pair<uint64_t, uint64_t> record{entry.term(),
                                             EntryFingerprint(entry)};
  if (index <= committed_.size()) {
    if (committed_[index - 1] != record) {
      Fail(absl::StrCat("State Machine Safety: node ", node, " applied term ",
                        entry.term(), " at index ", index,
                        " where another node applied term ",
                        committed_[index - 1].first));
    } else if (hash_after_[index - 1] != hash_after) {
      Fail(absl::StrCat("State Machine Safety: node ", node,
                        " reached another state at index ", index));
    }
    return;
  }
  if (index != committed_.size() + 1) {
    Fail(absl::StrCat("State Machine Safety: node ", node, " applied index ",
                      index, " before anyone applied ", committed_.size() + 1));
    return;
  }
  committed_.push_back(record);
  hash_after_.push_back(hash_after);
}

void InvariantChecker::ObserveSnapshot(uint64_t node, uint64_t index,
                                       uint64_t hash) {
  if (index == 0) return;
  if (index > hash_after_.size()) {
    Fail(absl::StrCat("State Machine Safety: node ", node,
                      " installed a snapshot at ", index,
                      " beyond anything applied (", hash_after_.size(), ")"));
  } else if (hash_after_[index - 1] != hash) {
    Fail(absl::StrCat("State Machine Safety: node ", node, "'s snapshot at ",
                      index, " differs from the applied log"));
  }
}

void InvariantChecker::CheckLogsMatch(
    const std::vector<const SimNode*>& nodes) {
  for (size_t a = 0; a < nodes.size(); ++a) {
    for (size_t b = a + 1; b < nodes.size(); ++b) {
      const raft::RaftLog& la = nodes[a]->raw()->raft().log();
      const raft::RaftLog& lb = nodes[b]->raw()->raft().log();
      const uint64_t lo =
          std::max(la.FirstIndex().value(), lb.FirstIndex().value());
      const uint64_t hi =
          std::min(la.LastIndex().value(), lb.LastIndex().value());
      // Find the highest index where both hold the same term; everything at
      // or below it must be the same entry in both logs.
      bool matched = false;
      for (uint64_t i = hi; i >= lo && i > 0; --i) {
        auto ta = la.TermAt(raft::Index(i));
        auto tb = lb.TermAt(raft::Index(i));
        if (!ta.ok() || !tb.ok()) break;
        if (!matched && *ta == *tb) matched = true;
        if (matched && *ta != *tb) {
          Fail(absl::StrCat("Log Matching: nodes ", nodes[a]->id(), " and ",
                            nodes[b]->id(), " agree at a later index but ",
                            "differ at index ", i, " (terms ", ta->value(),
                            " and ", tb->value(), ")"));
          return;
        }
      }
    }
  }
}

}  // namespace sluice::sim
