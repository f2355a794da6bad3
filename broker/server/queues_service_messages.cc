// The message RPCs of the Queues service: send, receive, delete, change
// visibility, peek, purge and stats, each split by partition and merged.
#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/xxh64.h"
#include "broker/partition/batch_checks.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "broker/partition/public_ids.h"
#include "broker/server/grpc_status.h"
#include "broker/server/queues_service.h"
#include "broker/server/service_util.h"

namespace sluice::broker {
namespace {

using sluice::internal::ForwardRequest;
using sluice::internal::ForwardResponse;
using sluice::internal::QueueRecord;

// One partition's share of a batch call: its request and, for each of its
// entries, the entry's index in the client's request.
struct Part {
  ForwardRequest request;
  std::vector<int> indexes;
};

// A part's whole-request error names its own entries; the client's request
// numbers them differently.
absl::Status RemapEntryField(const absl::Status& status,
                             const std::vector<int>& indexes) {
  const std::string field = FieldOf(status);
  int k = 0;
  const size_t close = field.find(']');
  if (field.rfind("entries[", 0) != 0 || close == std::string::npos ||
      !absl::SimpleAtoi(field.substr(8, close - 8), &k) || k < 0 ||
      k >= static_cast<int>(indexes.size())) {
    return status;
  }
  const std::string mapped =
      absl::StrCat("entries[", indexes[static_cast<size_t>(k)], "]",
                   field.substr(close + 1));
  std::string message(status.message());
  if (message.rfind(field, 0) == 0)
    message = mapped + message.substr(field.size());
  return WithReason(absl::Status(status.code(), message), ReasonOf(status),
                    mapped);
}

uint32_t RouteKey(const std::string& key, uint32_t partitions) {
  return static_cast<uint32_t>(Xxh64(key) % partitions);
}

std::vector<ForwardRequest> Requests(std::map<uint32_t, Part>& parts) {
  std::vector<ForwardRequest> out;
  for (auto& [p, part] : parts) out.push_back(part.request);
  return out;
}

}  // namespace

QueuesService::Reactor* QueuesService::Send(Context* context,
                                            const v1::SendRequest* request,
                                            v1::SendResponse* response) {
  Reactor* reactor = context->DefaultReactor();
  if (Refused(context, reactor,
              auth_.Check(*context, auth::Permission::kSend,
                          request->queue_name()))) {
    return reactor;
  }
  auto fail = [&](const absl::Status& s) {
    reactor->Finish(ToGrpcStatus(s, *context, view_));
    return reactor;
  };
  absl::StatusOr<QueueRecord> queue = FindQueue(view_, request->queue_name());
  if (!queue.ok()) return fail(queue.status());
  if (absl::Status s = ValidateBatch(request->entries(), {}); !s.ok()) {
    return fail(s);
  }
  const uint32_t count = static_cast<uint32_t>(queue->partitions_size());
  const bool fifo = queue->attributes().fifo();
  const bool idempotent = !request->producer_id().empty();
  if (!idempotent && request->producer_sequences_size() > 0) {
    return fail(InvalidField("producer_sequences",
                             "must be empty when producer_id is empty"));
  }
  std::map<uint32_t, const v1::ProducerSequence*> sequences;
  for (int i = 0; i < request->producer_sequences_size(); ++i) {
    const auto& seq = request->producer_sequences(i);
    if (!sequences.emplace(seq.partition(), &seq).second) {
      return fail(InvalidField(
          absl::StrCat("producer_sequences[", i, "]"),
          absl::StrCat("partition ", seq.partition(), " appears twice")));
    }
  }
  // Standard entries without a routing key go together to one partition,
  // chosen round-robin per request.
  const uint32_t spread =
      static_cast<uint32_t>(round_robin_.fetch_add(1) % count);

  response->mutable_results()->Reserve(request->entries_size());
  std::map<uint32_t, Part> parts;
  for (int i = 0; i < request->entries_size(); ++i) {
    const v1::SendEntry& e = request->entries(i);
    v1::SendResult* result = response->add_results();
    result->set_entry_id(e.entry_id());
    std::optional<uint32_t> routed;
    if (fifo && !e.group_id().empty()) routed = RouteKey(e.group_id(), count);
    if (!fifo && !e.dedup_id().empty()) routed = RouteKey(e.dedup_id(), count);
    uint32_t partition = routed.value_or(spread);
    if (e.has_partition()) {
      const std::string field = absl::StrCat("entries[", i, "].partition");
      if (e.partition() >= count) {
        return fail(InvalidField(field, absl::StrCat("must be below ", count,
                                                     " (partition_count)")));
      }
      if (routed.has_value() && *routed != e.partition()) {
        absl::Status wrong = InvalidField(
            field,
            absl::StrCat("the entry's routing key maps to partition ", *routed),
            v1::ERROR_REASON_WRONG_PARTITION);
        if (idempotent) return fail(wrong);
        *result->mutable_status() = ToEntryStatus(wrong);
        continue;
      }
      partition = e.partition();
    } else if (idempotent) {
      return fail(InvalidField(absl::StrCat("entries[", i, "].partition"),
                               "required with producer_id"));
    }
    Part& part = parts[partition];
    if (part.indexes.empty()) {
      *part.request.mutable_target() = PartitionTarget(*queue, partition);
      v1::SendRequest* send = part.request.mutable_send();
      send->set_queue_name(request->queue_name());
      send->set_producer_id(request->producer_id());
      if (idempotent) {
        auto seq = sequences.find(partition);
        if (seq == sequences.end()) {
          return fail(InvalidField(
              "producer_sequences",
              absl::StrCat("no first_sequence for partition ", partition)));
        }
        *send->add_producer_sequences() = *seq->second;
      }
    }
    v1::SendEntry* copy = part.request.mutable_send()->add_entries();
    *copy = e;
    copy->set_partition(partition);
    part.indexes.push_back(i);
  }
  if (idempotent && sequences.size() != parts.size()) {
    return fail(InvalidField("producer_sequences",
                             "names a partition no entry targets"));
  }
  auto shared_parts =
      std::make_shared<std::map<uint32_t, Part>>(std::move(parts));
  FanOut(
      Requests(*shared_parts), DeadlineOf(*context),
      [this, context, reactor, response,
       shared_parts](std::vector<RequestRouter::Result> results) {
        size_t r = 0;
        for (auto& [p, part] : *shared_parts) {
          RequestRouter::Result& result = results[r++];
          if (!result.response.ok()) {
            const absl::Status s =
                RemapEntryField(result.response.status(), part.indexes);
            if (absl::IsInvalidArgument(s)) {
              reactor->Finish(ToGrpcStatus(s, *context, view_));
              return;
            }
            for (int index : part.indexes) {
              *response->mutable_results(index)->mutable_status() =
                  ToEntryStatus(s);
            }
            continue;
          }
          auto* sent = result.response->mutable_send()->mutable_results();
          for (size_t k = 0;
               k < part.indexes.size() && static_cast<int>(k) < sent->size();
               ++k) {
            response->mutable_results(part.indexes[k])
                ->Swap(sent->Mutable(static_cast<int>(k)));
          }
          if (shared_parts->size() == 1 && result.served_by != view_.self()) {
            AddLeaderHint(*context, view_, result.served_by);
          }
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

void QueuesService::ReceiveFrom(
    const QueueRecord& queue, const v1::ReceiveRequest& request,
    absl::Time deadline, std::shared_ptr<std::atomic<bool>> cancelled,
    std::function<void(absl::StatusOr<v1::ReceiveResponse>)> done) {
  const uint32_t count = static_cast<uint32_t>(queue.partitions_size());
  std::vector<uint32_t> partitions;
  for (int i = 0; i < request.partitions_size(); ++i) {
    if (request.partitions(i) >= count) {
      return done(InvalidField(absl::StrCat("partitions[", i, "]"),
                               absl::StrCat("must be below ", count)));
    }
    partitions.push_back(request.partitions(i));
  }
  if (partitions.empty()) {
    for (uint32_t p = 0; p < count; ++p) partitions.push_back(p);
  }
  // Start at a rotating partition so that no partition is favoured.
  std::rotate(
      partitions.begin(),
      partitions.begin() + static_cast<std::ptrdiff_t>(
                               round_robin_.fetch_add(1) % partitions.size()),
      partitions.end());
  // By value: the long-poll round below runs after this function returned,
  // when a stream's request (a local of its caller) is gone.
  auto part_request = [queue, request](uint32_t p, bool wait) {
    ForwardRequest f;
    *f.mutable_target() = PartitionTarget(queue, p);
    v1::ReceiveRequest* r = f.mutable_receive();
    *r = request;
    r->clear_partitions();
    r->add_partitions(p);
    if (!wait) r->clear_wait_time();
    return f;
  };
  if (partitions.size() == 1) {
    router_.Call(
        part_request(partitions[0], true), deadline,
        [done](RequestRouter::Result r) {
          if (!r.response.ok()) return done(r.response.status());
          done(std::move(*r.response->mutable_receive()));
        },
        cancelled);
    return;
  }
  // Several partitions: one short poll of each (in parallel); if all are
  // empty, a long poll of each, answered by the first that finds messages.
  // Messages a slower partition leases after that are released at once and
  // their receives undone (Release).
  struct State {
    absl::Mutex mu;
    bool answered = false;
    size_t left = 0;
    v1::ReceiveResponse collected;
    absl::Status first_error;
    std::function<void(absl::StatusOr<v1::ReceiveResponse>)> done;
  };
  const bool long_poll =
      request.has_wait_time() &&
      FromProtoDuration(request.wait_time()) > absl::ZeroDuration();
  const uint32_t max = std::max<uint32_t>(1, request.max_messages());
  auto round = std::make_shared<std::function<void(bool)>>();
  *round = [this, queue, partitions, part_request, deadline, cancelled, done,
            long_poll, max, round](bool wait) {
    auto state = std::make_shared<State>();
    state->left = partitions.size();
    state->done = done;
    auto cancel_wait = std::make_shared<std::atomic<bool>>(false);
    for (uint32_t p : partitions) {
      ForwardRequest f = part_request(p, wait);
      // A short poll asks each partition for its share (fewer extras to
      // give back); a long poll asks each for all, the first one wins.
      const uint32_t n = static_cast<uint32_t>(partitions.size());
      f.mutable_receive()->set_max_messages(wait ? max : (max + n - 1) / n);
      router_.Call(
          std::move(f), deadline,
          [this, state, queue, wait, long_poll, round, cancel_wait, max,
           p](RequestRouter::Result r) {
            std::vector<v1::Message> late;
            bool finish = false;
            bool again = false;
            v1::ReceiveResponse answer;
            absl::Status error;
            {
              absl::MutexLock lock(&state->mu);
              --state->left;
              if (!r.response.ok()) {
                if (state->first_error.ok()) {
                  state->first_error = r.response.status();
                }
              } else {
                for (auto& m :
                     *r.response->mutable_receive()->mutable_messages()) {
                  if (state->answered ||
                      static_cast<uint32_t>(state->collected.messages_size()) >=
                          max) {
                    late.push_back(std::move(m));
                  } else {
                    *state->collected.add_messages() = std::move(m);
                  }
                }
              }
              if (!state->answered) {
                const bool have = state->collected.messages_size() > 0;
                if (have && (wait || state->left == 0)) {
                  finish = true;
                } else if (state->left == 0) {
                  again = !wait && long_poll;
                  finish = !again;
                }
                if (finish || again) {
                  state->answered = true;
                  cancel_wait->store(true);
                  answer = std::move(state->collected);
                  error = state->first_error;
                }
              }
            }
            if (!late.empty()) Release(queue, p, std::move(late));
            if (again) return (*round)(true);
            if (!finish) return;
            *round = nullptr;  // ends the self-reference
            if (answer.messages_size() == 0 && !error.ok()) {
              return state->done(error);
            }
            state->done(std::move(answer));
          },
          wait ? cancel_wait : nullptr);
    }
  };
  (*round)(false);
}

}  // namespace sluice::broker
