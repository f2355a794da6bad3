#include "broker/transport/heartbeat_coalescer.h"

#include "absl/strings/str_cat.h"

namespace sluice::broker {
namespace {

using sluice::internal::raft::Message;
using sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT;
using sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT_RESPONSE;

// Only the fields a plain heartbeat (response) uses may be set, so that
// expanding gives back exactly the message the core produced.
bool PlainHeartbeat(const Message& m) {
  return m.context().empty() && m.entries_size() == 0 && !m.has_snapshot() &&
         !m.reject() && m.log_term() == 0 && m.index() == 0 &&
         m.reject_hint() == 0 && !m.transfer() && m.transferee() == 0;
}

}  // namespace

bool HeartbeatCoalescer::Add(const Message& m) {
  if (!PlainHeartbeat(m)) return false;
  if (m.type() == MESSAGE_TYPE_HEARTBEAT) {
    if (m.quiesce() && !any_quiesce_) {
      // From now on the array runs parallel to the others.
      for (int i = 0; i < heartbeats_.group_ids_size(); ++i) {
        heartbeats_.add_quiesce(false);
      }
      any_quiesce_ = true;
    }
    heartbeats_.add_group_ids(m.group());
    heartbeats_.add_terms(m.term());
    heartbeats_.add_commits(m.commit());
    if (any_quiesce_) heartbeats_.add_quiesce(m.quiesce());
    return true;
  }
  if (m.type() == MESSAGE_TYPE_HEARTBEAT_RESPONSE && m.commit() == 0 &&
      !m.quiesce()) {
    responses_.add_group_ids(m.group());
    responses_.add_terms(m.term());
    return true;
  }
  return false;
}

void HeartbeatCoalescer::MoveInto(
    sluice::internal::RaftStreamRequest& request) {
  if (heartbeats_.group_ids_size() > 0) {
    request.mutable_heartbeats()->Swap(&heartbeats_);
  }
  if (responses_.group_ids_size() > 0) {
    request.mutable_heartbeat_responses()->Swap(&responses_);
  }
  Clear();
}

void HeartbeatCoalescer::Clear() {
  heartbeats_.Clear();
  responses_.Clear();
  any_quiesce_ = false;
}

absl::Status ExpandHeartbeats(
    const sluice::internal::RaftStreamRequest& request, raft::NodeId from,
    raft::NodeId self, std::vector<Message>& out) {
  const auto& hb = request.heartbeats();
  const int n = hb.group_ids_size();
  if (hb.terms_size() != n || hb.commits_size() != n ||
      (hb.quiesce_size() != 0 && hb.quiesce_size() != n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "coalesced heartbeats from node ", from.value(),
        ": group_ids, terms, commits and quiesce differ in length (", n, ", ",
        hb.terms_size(), ", ", hb.commits_size(), ", ", hb.quiesce_size(),
        ")"));
  }
  const auto& resp = request.heartbeat_responses();
  const int r = resp.group_ids_size();
  if (resp.terms_size() != r) {
    return absl::InvalidArgumentError(
        absl::StrCat("coalesced heartbeat responses from node ", from.value(),
                     ": group_ids and terms differ in length (", r, ", ",
                     resp.terms_size(), ")"));
  }
  out.reserve(out.size() + static_cast<size_t>(n + r));
  auto fill = [&](Message& m, uint64_t group, uint64_t term) {
    if (group == 0 || term == 0) return false;
    m.set_group(group);
    m.set_from(from.value());
    m.set_to(self.value());
    m.set_term(term);
    return true;
  };
  for (int i = 0; i < n; ++i) {
    Message m;
    m.set_type(MESSAGE_TYPE_HEARTBEAT);
    if (!fill(m, hb.group_ids(i), hb.terms(i))) {
      return absl::InvalidArgumentError(
          absl::StrCat("coalesced heartbeat ", i, " from node ", from.value(),
                       " has group 0 or term 0"));
    }
    m.set_commit(hb.commits(i));
    if (hb.quiesce_size() != 0) m.set_quiesce(hb.quiesce(i));
    out.push_back(std::move(m));
  }
  for (int i = 0; i < r; ++i) {
    Message m;
    m.set_type(MESSAGE_TYPE_HEARTBEAT_RESPONSE);
    if (!fill(m, resp.group_ids(i), resp.terms(i))) {
      return absl::InvalidArgumentError(
          absl::StrCat("coalesced heartbeat response ", i, " from node ",
                       from.value(), " has group 0 or term 0"));
    }
    out.push_back(std::move(m));
  }
  return absl::OkStatus();
}

}  // namespace sluice::broker
