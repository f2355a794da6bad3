#include "broker/server/move_sender.h"

#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/xxh64.h"
#include "broker/server/queues_service.h"

namespace sluice::broker {

void RoutedMoveSender::SendMoves(const std::string& destination,
                                 internal::SendBatch batch,
                                 std::function<void(absl::Status)> done) {
  auto finish = [this, done](absl::Status s) {
    host_.Post([done, s = std::move(s)] { done(s); });
  };
  std::optional<sluice::internal::QueueRecord> queue =
      view_.FindQueue(destination);
  if (!queue.has_value()) {
    return finish(absl::NotFoundError(
        absl::StrCat("destination queue '", destination, "' does not exist")));
  }
  const uint64_t count = static_cast<uint64_t>(queue->partitions_size());
  const bool fifo = queue->attributes().fifo();
  std::map<uint32_t, internal::SendBatch> parts;
  for (int i = 0; i < batch.entries_size(); ++i) {
    internal::SendEntry entry = batch.entries(i);
    if (entry.producer_sequence() == 0 &&
        batch.first_producer_sequence() != 0) {
      entry.set_producer_sequence(batch.first_producer_sequence() +
                                  static_cast<uint64_t>(i));
    }
    const std::string key =
        fifo ? entry.group_id()
             : absl::StrCat(entry.moved_from().source_queue(), "/",
                            entry.moved_from().source_partition(), "/",
                            entry.moved_from().source_sequence());
    const uint32_t p = static_cast<uint32_t>(Xxh64(key) % count);
    internal::SendBatch& part = parts[p];
    part.set_producer_id(batch.producer_id());
    *part.add_entries() = std::move(entry);
  }
  struct State {
    absl::Mutex mu;
    size_t left;
    absl::Status first_error;
  };
  auto state = std::make_shared<State>();
  state->left = parts.size();
  if (parts.empty()) return finish(absl::OkStatus());
  for (auto& [p, part] : parts) {
    sluice::internal::ForwardRequest request;
    *request.mutable_target() = PartitionTarget(*queue, p);
    *request.mutable_accept_moves() = std::move(part);
    router_.Call(std::move(request), absl::Now() + absl::Seconds(10),
                 [state, finish](RequestRouter::Result r) {
                   absl::Status result;
                   {
                     absl::MutexLock lock(&state->mu);
                     if (!r.response.ok() && state->first_error.ok()) {
                       state->first_error = r.response.status();
                     }
                     if (--state->left > 0) return;
                     result = state->first_error;
                   }
                   finish(result);
                 });
  }
}

}  // namespace sluice::broker
