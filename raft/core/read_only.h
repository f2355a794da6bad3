// ReadOnly: the leader's pending ReadIndex requests (thesis §6.4). A request
// records the commit index when it arrived; it is answered once a quorum has
// acknowledged a heartbeat sent after it, proving we were still leader.
// Owned by the Raft core; single-threaded.
#ifndef SLUICE_RAFT_CORE_READ_ONLY_H_
#define SLUICE_RAFT_CORE_READ_ONLY_H_

#include <deque>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "raft/types.h"

namespace sluice::raft {

class ReadOnly {
 public:
  struct Request {
    std::string ctx;
    Index index;
    NodeId from;  // node that asked (ourselves for local reads)
  };

  // Returns false if a request with the same ctx is already pending.
  bool Add(std::string ctx, Index index, NodeId from);
  // Records that `from` acknowledged the heartbeat carrying `ctx`; returns the
  // set of nodes that acknowledged it (empty if ctx is unknown).
  const absl::btree_set<NodeId>* Ack(const std::string& ctx, NodeId from);
  // Removes and returns every request up to and including `ctx` (a later
  // confirmed heartbeat confirms all earlier requests too).
  std::vector<Request> ReleaseThrough(const std::string& ctx);
  // Context of the newest pending request ("" if none): heartbeats carry it.
  std::string LastPendingCtx() const;
  void Clear();
  size_t size() const { return queue_.size(); }

 private:
  struct Pending {
    Request request;
    absl::btree_set<NodeId> acks;
  };
  absl::btree_map<std::string, Pending> pending_;
  std::deque<std::string> queue_;
};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_CORE_READ_ONLY_H_
