// Which state machine a Raft group of a given kind runs on this node:
// "queue" (a queue partition) or "meta" (the cluster metadata).
#ifndef SLUICE_BROKER_SERVER_STATE_MACHINES_H_
#define SLUICE_BROKER_SERVER_STATE_MACHINES_H_

#include "broker/host/replica_state_machine.h"

namespace sluice::broker {

StateMachineFactory MakeStateMachineFactory();

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_STATE_MACHINES_H_
