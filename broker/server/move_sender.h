// RoutedMoveSender: the node's MoveSender (broker/partition/proposer.h).
// Copies a batch of moved messages (dead-letter moves, redrive) to the
// destination queue's partitions, wherever their leaders are: FIFO entries
// by their group id, standard entries by their source position, so that a
// retry lands where the first copy did and is deduplicated there (each entry
// keeps its own producer sequence number).
#ifndef SLUICE_BROKER_SERVER_MOVE_SENDER_H_
#define SLUICE_BROKER_SERVER_MOVE_SENDER_H_

#include "broker/api/cluster_view.h"
#include "broker/host/node_host.h"
#include "broker/partition/proposer.h"
#include "broker/server/request_router.h"

namespace sluice::broker {

class RoutedMoveSender final : public MoveSender {
 public:
  RoutedMoveSender(NodeHost& host, const ClusterView& view,
                   RequestRouter& router)
      : host_(host), view_(view), router_(router) {}

  // Called on the loop thread; `done` is posted back to it.
  void SendMoves(const std::string& destination, internal::SendBatch batch,
                 std::function<void(absl::Status)> done) override;

 private:
  NodeHost& host_;
  const ClusterView& view_;
  RequestRouter& router_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_SERVER_MOVE_SENDER_H_
