// Transport: how a NodeHost reaches the other nodes. The host hands it
// batches of Raft messages and whole snapshots to deliver; the transport
// hands inbound messages and delivery failures back through the
// TransportHandler the host registers with Start().
//
// Contract (an implementation over gRPC must keep all of it):
// - Send and SendSnapshot are called from the host's event-loop thread and
//   must not block on the network or the disk: queue and return.
// - Messages to one peer arrive in the order they were passed to Send (per
//   peer, across calls). Any message may be dropped: Raft retransmits. A
//   peer that cannot be reached (no connection, queue overflow, send error)
//   is reported with TransportHandler::ReportUnreachable, from any thread.
// - Messages are delivered to the peer's handler as TransportHandler::Deliver
//   (from, batch). A node receives only messages whose `to` is itself.
// - SendSnapshot streams `source` (the state machine's snapshot data) to the
//   peer, which must step the message with the full data as `snapshot.data`,
//   i.e. Deliver(from, {message with data}). The sender reports the outcome
//   once with ReportSnapshot(group, to, ok): ok when the peer received the
//   whole snapshot, false when it gave up. The source may be read on any
//   thread, one at a time; it keeps what it reads from alive until destroyed.
// - Send with no messages is a keepalive: the peer's handler must get a
//   Deliver(from, {}) (node liveness for quiesced groups, see
//   raft/core/peer_liveness.h). How messages travel is the transport's
//   business: the gRPC one coalesces plain heartbeats per node pair, the
//   in-process one does not.
// - Start is called once before any Send; Stop before the handler goes away.
//   After Stop returns the transport makes no further calls into the handler
//   and drops anything sent. A transport may be started again with a new
//   handler (a restarted host).
//
// Thread safety: every method of both interfaces may be called from any
// thread; handler methods must be quick and non-blocking (NodeHost's post a
// task to its loop).
#ifndef SLUICE_BROKER_HOST_TRANSPORT_H_
#define SLUICE_BROKER_HOST_TRANSPORT_H_

#include <memory>
#include <vector>

#include "broker/host/replica_state_machine.h"
#include "raft/types.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::broker {

// Implemented by the host; called by the transport.
class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  // Raft messages from node `from`, possibly of many groups, in send order.
  virtual void Deliver(
      raft::NodeId from,
      std::vector<sluice::internal::raft::Message> messages) = 0;
  // `peer` could not be reached: Raft stops pipelining to it.
  virtual void ReportUnreachable(raft::NodeId peer) = 0;
  // The snapshot of `group` sent to `to` arrived whole (ok) or was given up.
  virtual void ReportSnapshot(raft::GroupId group, raft::NodeId to,
                              bool ok) = 0;
};

// A snapshot for one follower of one group.
struct OutgoingSnapshot {
  raft::GroupId group;
  raft::NodeId to;
  // The SNAPSHOT message from the leader's core: metadata, no data.
  sluice::internal::raft::Message message;
  // The data, at least as new as message.snapshot().metadata().
  std::unique_ptr<SnapshotSource> source;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void Start(TransportHandler* handler) = 0;
  virtual void Stop() = 0;
  virtual void Send(raft::NodeId to,
                    std::vector<sluice::internal::raft::Message> messages) = 0;
  virtual void SendSnapshot(OutgoingSnapshot snapshot) = 0;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_HOST_TRANSPORT_H_
