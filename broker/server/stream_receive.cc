#include "broker/server/stream_receive.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "broker/server/grpc_status.h"
#include "broker/server/service_util.h"
#include "grpcpp/alarm.h"

namespace sluice::broker {
namespace {

using Request = v1::StreamReceiveRequest;
using Response = v1::StreamReceiveResponse;

constexpr absl::Duration kHeartbeat = absl::Seconds(5);
constexpr absl::Duration kItemTimeout = absl::Seconds(30);
constexpr uint64_t kMaxMessageCredit = 100000;
constexpr uint64_t kMaxByteCredit = uint64_t{1} << 30;

class StreamReceive final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  StreamReceive(QueuesService& service, grpc::CallbackServerContext* context)
      : service_(service),
        context_(context),
        stream_id_(absl::StrCat("s", service.view().self().value(), "-",
                                service.NextStreamId())) {
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side, or the stream broke
      absl::MutexLock lock(&mu_);
      Close(absl::OkStatus());
      return;
    }
    Request item = std::move(incoming_);
    incoming_.Clear();
    Handle(std::move(item));
    absl::MutexLock lock(&mu_);
    if (!closing_) StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      Close(absl::OkStatus());
      outbox_.clear();
    } else {
      outbox_.pop_front();
    }
    Flush();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_->store(true);
    Close(absl::CancelledError("stream cancelled"));
    outbox_.clear();
    Flush();
  }

  // gRPC is done with the stream; the reactor goes once the last of our own
  // callbacks (receives, items, the heartbeat alarm) has run: whoever sees
  // done_ with nothing pending deletes it, exactly once.
  void OnDone() override {
    alarm_.Cancel();  // its callback still runs (fired = false)
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      last = pending_ == 0;
    }
    if (last) delete this;
  }

 private:
  // ---- client items (OnReadDone's thread) ----
  void Handle(Request item) {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    if (!started_) {
      if (!item.has_start()) {
        return Close(InvalidField("start", "the first item must be start"));
      }
      return Start(item);
    }
    switch (item.item_case()) {
      case Request::kStart:
        return Close(InvalidField("start", "a stream takes one start item"));
      case Request::kCredits:
        Grant(item.credits());
        if (item.correlation_id() != 0) {
          Response r;
          auto* result = r.mutable_results()->add_results();
          result->set_correlation_id(item.correlation_id());
          *result->mutable_remaining_credits() = Remaining();
          Push(std::move(r));
        }
        return MaybeReceive();
      case Request::kAck:
      case Request::kNack:
      case Request::kExtendLease:
        if (absl::Status s = service_.auth().CheckPrincipal(
                principal_, auth::Permission::kDelete, queue_.name());
            !s.ok()) {
          return Refuse(item, s);
        }
        return Forward(std::move(item));
      default: {
        Response r;
        auto* result = r.mutable_results()->add_results();
        result->set_correlation_id(item.correlation_id());
        *result->mutable_status() =
            ToEntryStatus(InvalidField("item", "no item set"));
        return Push(std::move(r));
      }
    }
  }

  void Start(const Request& item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const v1::StreamStart& start = item.start();
    absl::StatusOr<std::string> principal =
        service_.auth().Authenticate(*context_);
    if (!principal.ok()) return Close(principal.status());
    if (absl::Status s = service_.auth().CheckPrincipal(
            *principal, auth::Permission::kReceive, start.queue_name());
        !s.ok()) {
      return Close(s);
    }
    principal_ = *std::move(principal);
    absl::StatusOr<sluice::internal::QueueRecord> queue =
        FindQueue(service_.view(), start.queue_name(), "start.queue_name");
    if (!queue.ok()) return Close(queue.status());
    if (start.max_batch_messages() > 1000) {
      return Close(
          InvalidField("start.max_batch_messages", "must be at most 1000"));
    }
    if (start.client_id().size() > 128) {
      return Close(InvalidField("start.client_id", "at most 128 characters"));
    }
    queue_ = *std::move(queue);
    started_ = true;
    max_batch_ =
        start.max_batch_messages() == 0 ? 100 : start.max_batch_messages();
    template_.set_queue_name(start.queue_name());
    *template_.mutable_message_attribute_names() =
        start.message_attribute_names();
    *template_.mutable_partitions() = start.partitions();
    const auto& attributes = queue_.public_attributes();
    *template_.mutable_visibility_timeout() =
        start.has_visibility_timeout() ? start.visibility_timeout()
                                       : attributes.visibility_timeout();
    *template_.mutable_wait_time() = ToProtoDuration(kHeartbeat);
    Response r;
    v1::StreamStarted* started = r.mutable_started();
    started->set_stream_id(stream_id_);
    *started->mutable_visibility_timeout() = template_.visibility_timeout();
    started->set_queue_type(queue_.attributes().fifo()
                                ? v1::QUEUE_TYPE_FIFO
                                : v1::QUEUE_TYPE_STANDARD);
    started->set_node_id(service_.view().self().value());
    *started->mutable_heartbeat_interval() = ToProtoDuration(kHeartbeat);
    Push(std::move(r));
    Grant(start.initial_credits());
    ArmHeartbeat();
    MaybeReceive();
  }

  void Grant(const v1::StreamCredits& credits)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    credit_messages_ =
        std::min(kMaxMessageCredit, credit_messages_ + credits.messages());
    if (credits.bytes() > 0) byte_flow_control_ = true;
    credit_bytes_ = std::min(kMaxByteCredit, credit_bytes_ + credits.bytes());
  }

  v1::StreamCredits Remaining() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    v1::StreamCredits c;
    c.set_messages(static_cast<uint32_t>(credit_messages_));
    c.set_bytes(credit_bytes_);
    return c;
  }

  // ---- delivery ----
  void MaybeReceive() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (receiving_ || closing_ || credit_messages_ == 0) return;
    if (byte_flow_control_ && credit_bytes_ == 0) return;
    receiving_ = true;
    ++pending_;
    v1::ReceiveRequest request = template_;
    request.set_max_messages(static_cast<uint32_t>(
        std::min<uint64_t>({credit_messages_, max_batch_, 100})));
    if (byte_flow_control_) {
      request.set_max_bytes(std::min<uint64_t>(credit_bytes_, 64 << 20));
    }
    service_.ReceiveFrom(
        queue_, request, absl::Now() + kHeartbeat + absl::Seconds(5),
        cancelled_, [this](absl::StatusOr<v1::ReceiveResponse> r) {
          Received(std::move(r));
        });
  }

  void Received(absl::StatusOr<v1::ReceiveResponse> r) {
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      receiving_ = false;
      --pending_;
      OnReceived(std::move(r));
      last = done_ && pending_ == 0;
    }
    if (last) delete this;
  }

  void OnReceived(absl::StatusOr<v1::ReceiveResponse> r)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (closing_) {
      if (r.ok() && r->messages_size() > 0) ReleaseAll(*r);
      return;
    }
    if (!r.ok()) {
      // Leader change or no leader: the client reconnects (with the hint).
      return Close(r.status());
    }
    if (r->messages_size() > 0) {
      Response out;
      for (v1::Message& m : *r->mutable_messages()) {
        credit_messages_ -= std::min<uint64_t>(credit_messages_, 1);
        credit_bytes_ -= std::min<uint64_t>(credit_bytes_, m.size_bytes());
        in_flight_.insert(m.receipt_handle());
        *out.mutable_messages()->add_messages() = std::move(m);
      }
      Push(std::move(out));
    }
    MaybeReceive();
  }

  void ReleaseAll(v1::ReceiveResponse& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::map<uint32_t, std::vector<v1::Message>> by_partition;
    for (v1::Message& m : *r.mutable_messages()) {
      by_partition[m.partition()].push_back(std::move(m));
    }
    for (auto& [p, messages] : by_partition) {
      service_.Release(queue_, p, std::move(messages));
    }
  }

  // ---- ack, nack, extend ----
  // Answers an ack, nack or extend item with `refusal` for every handle.
  void Refuse(const Request& item, const absl::Status& refusal)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const auto& handles = item.has_ack() ? item.ack().receipt_handles()
                          : item.has_nack()
                              ? item.nack().receipt_handles()
                              : item.extend_lease().receipt_handles();
    Response r;
    auto* result = r.mutable_results()->add_results();
    result->set_correlation_id(item.correlation_id());
    *result->mutable_status() = ToEntryStatus(refusal);
    for (const std::string& h : handles) {
      auto* one = result->add_receipt_results();
      one->set_receipt_handle(h);
      *one->mutable_status() = ToEntryStatus(refusal);
    }
    Push(std::move(r));
  }

  void Forward(Request item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++pending_;
    const bool release = item.has_ack() || item.has_nack();
    service_.StreamItem(
        queue_, item, absl::Now() + kItemTimeout,
        [this, release, item](v1::StreamItemResult result) {
          bool last = false;
          {
            absl::MutexLock lock(&mu_);
            --pending_;
            if (release) {
              const auto& handles = item.has_ack()
                                        ? item.ack().receipt_handles()
                                        : item.nack().receipt_handles();
              for (const std::string& h : handles) in_flight_.erase(h);
            }
            if (!closing_ &&
                (item.correlation_id() != 0 || result.status().code() != 0)) {
              if (item.correlation_id() == 0) {
                // Only the failures, as the protocol says.
                auto* all = result.mutable_receipt_results();
                for (int i = all->size() - 1; i >= 0; --i) {
                  if (all->Get(i).status().code() == 0) {
                    all->DeleteSubrange(i, 1);
                  }
                }
              }
              Response r;
              *r.mutable_results()->add_results() = std::move(result);
              Push(std::move(r));
            }
            last = done_ && pending_ == 0;
          }
          if (last) delete this;
        });
  }

  // ---- heartbeats ----
  void ArmHeartbeat() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++pending_;
    alarm_.Set(absl::ToChronoTime(absl::Now() + kHeartbeat),
               [this](bool fired) { OnAlarm(fired); });
  }

  void OnAlarm(bool fired) {
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      --pending_;
      if (fired && !closing_) Beat();
      last = done_ && pending_ == 0;
    }
    if (last) delete this;
  }

  void Beat() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (absl::Now() - last_write_ >= kHeartbeat - absl::Milliseconds(100)) {
      Response r;
      v1::StreamHeartbeat* h = r.mutable_heartbeat();
      *h->mutable_server_time() = ToProtoTimestamp(absl::Now());
      *h->mutable_remaining_credits() = Remaining();
      h->set_in_flight_count(static_cast<uint32_t>(in_flight_.size()));
      Push(std::move(r));
    }
    ArmHeartbeat();
  }

  // ---- writing and ending ----
  void Push(Response r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    outbox_.push_back(std::move(r));
    Flush();
  }

  void Flush() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_) return;
    if (!outbox_.empty()) {
      writing_ = true;
      last_write_ = absl::Now();
      StartWrite(&outbox_.front());
      return;
    }
    if (closing_) {
      finished_ = true;
      cancelled_->store(true);
      Finish(ToGrpcStatus(close_status_, *context_, service_.view()));
    }
  }

  // Ends the stream with `status` once what is queued has been written.
  void Close(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (closing_) return;
    closing_ = true;
    close_status_ = std::move(status);
    Flush();
  }

  QueuesService& service_;
  grpc::CallbackServerContext* context_;
  const std::string stream_id_;
  Request incoming_;
  grpc::Alarm alarm_;

  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool receiving_ ABSL_GUARDED_BY(mu_) = false;
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status close_status_ ABSL_GUARDED_BY(mu_);
  absl::Time last_write_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::deque<Response> outbox_ ABSL_GUARDED_BY(mu_);
  sluice::internal::QueueRecord queue_ ABSL_GUARDED_BY(mu_);
  // Who opened the stream ("" with authentication off).
  std::string principal_ ABSL_GUARDED_BY(mu_);
  v1::ReceiveRequest template_ ABSL_GUARDED_BY(mu_);
  uint64_t max_batch_ ABSL_GUARDED_BY(mu_) = 100;
  uint64_t credit_messages_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t credit_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool byte_flow_control_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<std::string> in_flight_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<std::atomic<bool>> cancelled_ =
      std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

grpc::ServerBidiReactor<v1::StreamReceiveRequest, v1::StreamReceiveResponse>*
NewStreamReceive(QueuesService& service, grpc::CallbackServerContext* context) {
  return new StreamReceive(service, context);
}

}  // namespace sluice::broker
