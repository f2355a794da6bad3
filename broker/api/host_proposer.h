// The Proposer of a queue partition this node leads: proposes through the
// multi-Raft host and hands back the queue state machine's ApplyResult.
// Loop thread only, like PartitionOps.
#ifndef SLUICE_BROKER_API_HOST_PROPOSER_H_
#define SLUICE_BROKER_API_HOST_PROPOSER_H_

#include "broker/host/node_host.h"
#include "broker/partition/proposer.h"

namespace sluice::broker {

class HostProposer final : public Proposer {
 public:
  HostProposer(NodeHost& host, raft::GroupId group)
      : host_(host), group_(group) {}
  void Propose(internal::Command command, Done done) override;

 private:
  NodeHost& host_;
  const raft::GroupId group_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_API_HOST_PROPOSER_H_
