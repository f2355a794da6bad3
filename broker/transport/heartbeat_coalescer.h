// Coalesced heartbeats: the plain heartbeats and heartbeat responses of all
// groups between two nodes travel as parallel arrays in one RaftStream
// request (proto/sluice/internal/transport.proto) instead of one serialized
// Raft message each: a few bytes per group instead of ~20, and no
// per-message parse. Heartbeats that carry a ReadIndex context stay full
// messages.
#ifndef SLUICE_BROKER_TRANSPORT_HEARTBEAT_COALESCER_H_
#define SLUICE_BROKER_TRANSPORT_HEARTBEAT_COALESCER_H_

#include <vector>

#include "absl/status/status.h"
#include "raft/types.h"
#include "sluice/internal/raft.pb.h"
#include "sluice/internal/transport.pb.h"

namespace sluice::broker {

// Collects heartbeats on the sending side.
class HeartbeatCoalescer {
 public:
  // Takes `m` if it can travel coalesced; false leaves it to the caller.
  bool Add(const sluice::internal::raft::Message& m);
  bool empty() const {
    return heartbeats_.group_ids_size() == 0 &&
           responses_.group_ids_size() == 0;
  }
  // Moves everything collected into `request` and starts empty again.
  void MoveInto(sluice::internal::RaftStreamRequest& request);
  void Clear();

 private:
  sluice::internal::CoalescedHeartbeats heartbeats_;
  sluice::internal::CoalescedHeartbeatResponses responses_;
  bool any_quiesce_ = false;
};

// The receiving side: appends to `out` the Raft messages the request's
// coalesced heartbeats stand for, from node `from` to node `self`.
// InvalidArgument for arrays of different lengths or a zero group or term.
absl::Status ExpandHeartbeats(
    const sluice::internal::RaftStreamRequest& request, raft::NodeId from,
    raft::NodeId self, std::vector<sluice::internal::raft::Message>& out);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_TRANSPORT_HEARTBEAT_COALESCER_H_
