// The StreamReceive session (queues.proto): one reactor per stream. The
// client grants credits; the server long-polls the queue's partitions for as
// many messages as the credit allows (through QueuesService::ReceiveFrom, so
// any node serves any stream), and answers ack / nack / extend items with
// per-handle results. Heartbeats keep an idle stream visibly alive.
//
// A broken stream only stops delivery: leases already granted run out
// normally (or are acked on another stream). Messages a long poll leases
// after the stream ended are released at once.
#ifndef SLUICE_BROKER_SERVER_STREAM_RECEIVE_H_
#define SLUICE_BROKER_SERVER_STREAM_RECEIVE_H_

#include "broker/server/queues_service.h"

namespace sluice::broker {

grpc::ServerBidiReactor<v1::StreamReceiveRequest, v1::StreamReceiveResponse>*
NewStreamReceive(QueuesService& service, grpc::CallbackServerContext* context);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_STREAM_RECEIVE_H_
