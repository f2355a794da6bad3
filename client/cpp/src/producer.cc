#include "sluice/client/producer.h"

#include <utility>

namespace sluice::client {

std::future<absl::StatusOr<SendReceipt>> Producer::Send(
    OutgoingMessage message) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<SendReceipt>>>();
  std::future<absl::StatusOr<SendReceipt>> future = promise->get_future();
  Send(std::move(message), [promise](absl::StatusOr<SendReceipt> result) {
    promise->set_value(std::move(result));
  });
  return future;
}

}  // namespace sluice::client
