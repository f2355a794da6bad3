#include "client/cpp/src/consumer_impl.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/cpp/src/backoff.h"
#include "client/cpp/src/rpc_status.h"
#include "google/protobuf/util/time_util.h"
#include "sluice/client/errors.h"

namespace sluice::client::internal {
namespace {

using google::protobuf::util::TimeUtil;

constexpr absl::Duration kWriterTick = absl::Milliseconds(20);
constexpr absl::Duration kUnaryTimeout = absl::Seconds(5);
constexpr absl::Duration kFinalFlush = absl::Seconds(5);
constexpr size_t kMaxHandlesPerItem = 1000;
constexpr size_t kMaxEntriesPerCall = 100;

google::protobuf::Duration ToProto(absl::Duration d) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Nanoseconds(TimeUtil::DurationToNanoseconds(d));
}

}  // namespace

absl::Duration NackDelay(const ConsumerOptions& options,
                         uint32_t receive_count) {
  absl::Duration delay = options.nack_initial_backoff;
  for (uint32_t i = 1; i < receive_count && delay < options.nack_max_backoff;
       ++i) {
    delay *= 2;
  }
  return std::min(delay, options.nack_max_backoff);
}

std::unique_ptr<Consumer> StartConsumer(std::shared_ptr<Connection> connection,
                                        std::string queue,
                                        ConsumerOptions options,
                                        Consumer::Handler handler) {
  auto consumer =
      std::make_unique<ConsumerImpl>(std::move(connection), std::move(queue),
                                     std::move(options), std::move(handler));
  consumer->Start();
  return consumer;
}

ConsumerImpl::ConsumerImpl(std::shared_ptr<Connection> connection,
                           std::string queue, ConsumerOptions options,
                           Handler handler)
    : connection_(std::move(connection)),
      queue_(std::move(queue)),
      options_(std::move(options)),
      handler_(std::move(handler)),
      capacity_(std::max(options_.max_outstanding_messages > 0
                             ? options_.max_outstanding_messages
                             : 2 * options_.concurrency,
                         options_.concurrency)),
      keeper_(options_.lease > absl::ZeroDuration() ? options_.lease
                                                    : absl::Seconds(30),
              options_.max_lease_extension) {}

ConsumerImpl::~ConsumerImpl() { Stop(); }

void ConsumerImpl::Start() {
  reader_ = std::thread([this] { ReadLoop(); });
  writer_ = std::thread([this] { WriteLoop(); });
  for (int i = 0; i < options_.concurrency; ++i) {
    workers_.emplace_back([this] { WorkLoop(); });
  }
}

Consumer::Stats ConsumerImpl::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void ConsumerImpl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    // Received, not started: give them back at once.
    for (auto& [key, lane] : lanes_) ReleaseLane(lane, absl::ZeroDuration());
    ready_.clear();
    writer_wake_ = true;
    auto handlers_done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return running_ == 0;
    };
    mu_.AwaitWithTimeout(absl::Condition(&handlers_done),
                         options_.shutdown_timeout);
    auto flushed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return outbox_.acks.empty() && outbox_.nacks.empty() && sent_.empty();
    };
    mu_.AwaitWithTimeout(absl::Condition(&flushed), kFinalFlush);
    closed_ = true;
    if (stream_context_ != nullptr) stream_context_->TryCancel();
  }
  reader_.join();
  writer_.join();
  for (std::thread& t : workers_) t.join();
}

// ---- reading ----
// -----------------------------------------------------------------

std::string ConsumerImpl::StreamAddress(bool refresh) {
  // The leader of the first partition read: on a one-partition queue the
  // stream then needs no forwarding at all; on others, fewer hops.
  const uint32_t partition =
      options_.partitions.empty() ? 0 : options_.partitions.front();
  absl::StatusOr<QueueRoute> route = connection_->Route(
      queue_, refresh, connection_->clock().Now() + kUnaryTimeout);
  if (route.ok() && partition < route->leaders.size() &&
      !route->leaders[partition].empty()) {
    return route->leaders[partition];
  }
  return connection_->AnyAddress();
}

void ConsumerImpl::ReadLoop() {
  Backoff backoff(connection_->options().retry, connection_->NextRandomSeed());
  std::string hint;
  bool refresh = false;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
    }
    const uint64_t received_before = stats().received;
    // After a failure without a hint the leader we knew may be gone: ask.
    hint = RunStream(hint.empty() ? StreamAddress(refresh) : hint);
    refresh = true;
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    ++stats_.reconnects;
    if (stats_.received > received_before) backoff.Reset();
    mu_.AwaitWithTimeout(absl::Condition(&closed_), backoff.Next());
  }
}

std::string ConsumerImpl::RunStream(const std::string& address) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream =
      connection_->Queues(address).StreamReceive(&context);
  v1::StreamReceiveRequest start;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return "";
    v1::StreamStart* s = start.mutable_start();
    s->set_queue_name(queue_);
    if (options_.lease > absl::ZeroDuration()) {
      *s->mutable_visibility_timeout() = ToProto(options_.lease);
    }
    for (uint32_t p : options_.partitions) s->add_partitions(p);
    s->set_client_id(options_.client_id);
    // The credit of the previous stream died with it: grant afresh what
    // is free now.
    const int free = stopping_ ? 0 : std::max(0, capacity_ - outstanding_);
    s->mutable_initial_credits()->set_messages(static_cast<uint32_t>(free));
    if (options_.max_outstanding_bytes > 0 && !stopping_) {
      s->mutable_initial_credits()->set_bytes(
          options_.max_outstanding_bytes -
          std::min(options_.max_outstanding_bytes, outstanding_bytes_));
    }
    s->set_max_batch_messages(static_cast<uint32_t>(capacity_));
    outbox_.credit_messages = 0;
    outbox_.credit_bytes = 0;
    stream_context_ = &context;
    last_heard_ = connection_->clock().Now();
  }
  if (stream->Write(start)) {
    {
      absl::MutexLock lock(&write_mu_);
      stream_ = stream.get();
    }
    v1::StreamReceiveResponse response;
    while (stream->Read(&response)) OnResponse(response);
    absl::MutexLock lock(&write_mu_);
    stream_ = nullptr;
  }
  {
    absl::MutexLock lock(&mu_);
    stream_context_ = nullptr;
    // Their answers died with the stream. Acks may not have arrived: send
    // them again (a repeated delete is harmless); extensions are asked
    // again by the keeper.
    for (auto& [id, item] : sent_) {
      if (item.kind != ItemKind::kAck) continue;
      for (std::string& h : item.handles) outbox_.acks.push_back(std::move(h));
    }
    sent_.clear();
  }
  stream->Finish().ok();
  return LeaderHint(context);
}

void ConsumerImpl::OnResponse(const v1::StreamReceiveResponse& response) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = connection_->clock().Now();
  last_heard_ = now;
  switch (response.item_case()) {
    case v1::StreamReceiveResponse::kStarted: {
      const auto& started = response.started();
      if (started.has_heartbeat_interval()) {
        heartbeat_interval_ = FromProto(started.heartbeat_interval());
      }
      fifo_ = started.queue_type() == v1::QUEUE_TYPE_FIFO;
      if (started.has_visibility_timeout() &&
          options_.lease <= absl::ZeroDuration()) {
        keeper_.set_lease(FromProto(started.visibility_timeout()));
      }
      break;
    }
    case v1::StreamReceiveResponse::kMessages:
      for (const v1::Message& m : response.messages().messages()) {
        ++stats_.received;
        if (stopping_) {
          outbox_.nacks.emplace_back(m.receipt_handle(), absl::ZeroDuration());
          ++stats_.released;
          writer_wake_ = true;
          continue;
        }
        ++outstanding_;
        outstanding_bytes_ += m.size_bytes();
        keeper_.Track(m.receipt_handle(), now);
        Enqueue(m);
      }
      break;
    case v1::StreamReceiveResponse::kResults:
      for (const v1::StreamItemResult& r : response.results().results()) {
        auto it = sent_.find(r.correlation_id());
        if (it == sent_.end()) continue;
        const SentItem item = it->second;
        sent_.erase(it);
        for (int k = 0; k < r.receipt_results_size() &&
                        k < static_cast<int>(item.handles.size());
             ++k) {
          const v1::ReceiptResult& rr = r.receipt_results(k);
          const std::string& handle = item.handles[static_cast<size_t>(k)];
          const bool ok = rr.status().code() == 0;
          if (item.kind == ItemKind::kAck) {
            if (ok) {
              ++stats_.acked;
              ack_failed_since_.erase(handle);
            } else {
              AckFailed(handle, FromEntryStatus(rr.status()));
            }
          } else if (item.kind == ItemKind::kExtend) {
            if (ok) {
              keeper_.Extended(handle, item.asked);
              ++stats_.extensions;
            } else if (keeper_.Tracked(handle) &&
                       !IsRetryable(FromEntryStatus(rr.status()))) {
              keeper_.Lost(handle);
              ++stats_.leases_lost;
            }
          }
        }
      }
      break;
    case v1::StreamReceiveResponse::kHeartbeat:
      for (const std::string& h :
           response.heartbeat().expired_receipt_handles()) {
        if (keeper_.Tracked(h)) {
          keeper_.Lost(h);
          ++stats_.leases_lost;
        }
      }
      break;
    default:
      break;
  }
}

// ---- writing ----
// -----------------------------------------------------------------

void ConsumerImpl::WriteLoop() {
  for (;;) {
    Outbox out;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&writer_wake_), kWriterTick);
      writer_wake_ = false;
      if (closed_) return;
      const absl::Time now = connection_->clock().Now();
      std::swap(out, outbox_);
      out.extends = keeper_.Due(now);
      // A stream that has been silent for three heartbeat intervals is
      // dead even if TCP has not noticed: drop it, the reader reconnects.
      if (stream_context_ != nullptr &&
          now - last_heard_ > 3 * heartbeat_interval_) {
        stream_context_->TryCancel();
      }
    }
    if (!out.empty()) Deliver(out);
  }
}

void ConsumerImpl::Deliver(Outbox& out) {
  {
    absl::MutexLock lock(&write_mu_);
    if (stream_ != nullptr && WriteItems(out)) return;
  }
  DeliverUnary(out);
}

bool ConsumerImpl::WriteItems(Outbox& out) {
  const absl::Time now = connection_->clock().Now();
  auto send = [&](ItemKind kind, v1::StreamReceiveRequest& item) {
    {
      absl::MutexLock lock(&mu_);
      const uint64_t id = next_correlation_++;
      item.set_correlation_id(id);
      SentItem& sent = sent_[id];
      sent.kind = kind;
      sent.asked = now;
      const auto& handles =
          kind == ItemKind::kAck    ? item.ack().receipt_handles()
          : kind == ItemKind::kNack ? item.nack().receipt_handles()
                                    : item.extend_lease().receipt_handles();
      sent.handles.assign(handles.begin(), handles.end());
    }
    return stream_->Write(item);
  };
  while (!out.acks.empty()) {
    v1::StreamReceiveRequest item;
    const size_t n = std::min(out.acks.size(), kMaxHandlesPerItem);
    for (size_t i = 0; i < n; ++i) {
      item.mutable_ack()->add_receipt_handles(out.acks[i]);
    }
    if (!send(ItemKind::kAck, item)) return false;
    out.acks.erase(out.acks.begin(), out.acks.begin() + static_cast<long>(n));
  }
  while (!out.nacks.empty()) {
    // One item per delay; handles with the same delay go together.
    const absl::Duration delay = out.nacks.front().second;
    v1::StreamReceiveRequest item;
    *item.mutable_nack()->mutable_redelivery_delay() = ToProto(delay);
    std::vector<std::pair<std::string, absl::Duration>> rest;
    for (auto& nack : out.nacks) {
      if (nack.second == delay &&
          static_cast<size_t>(item.nack().receipt_handles_size()) <
              kMaxHandlesPerItem) {
        item.mutable_nack()->add_receipt_handles(nack.first);
      } else {
        rest.push_back(std::move(nack));
      }
    }
    if (!send(ItemKind::kNack, item)) {
      for (const std::string& h : item.nack().receipt_handles()) {
        rest.emplace_back(h, delay);
      }
      out.nacks = std::move(rest);
      return false;
    }
    out.nacks = std::move(rest);
  }
  while (!out.extends.empty()) {
    v1::StreamReceiveRequest item;
    const size_t n = std::min(out.extends.size(), kMaxHandlesPerItem);
    for (size_t i = 0; i < n; ++i) {
      item.mutable_extend_lease()->add_receipt_handles(out.extends[i]);
    }
    {
      absl::MutexLock lock(&mu_);
      *item.mutable_extend_lease()->mutable_visibility_timeout() =
          ToProto(keeper_.lease());
    }
    if (!send(ItemKind::kExtend, item)) return false;
    out.extends.erase(out.extends.begin(),
                      out.extends.begin() + static_cast<long>(n));
  }
  if (out.credit_messages > 0 || out.credit_bytes > 0) {
    v1::StreamReceiveRequest item;
    item.mutable_credits()->set_messages(out.credit_messages);
    item.mutable_credits()->set_bytes(out.credit_bytes);
    if (!send(ItemKind::kOther, item)) return false;
    out.credit_messages = 0;
    out.credit_bytes = 0;
  }
  return true;
}

// Without a stream, acks, nacks and extensions go as Delete and
// ChangeVisibility calls (receipt handles work anywhere); credit waits for
// the next stream, which grants it in its start.
void ConsumerImpl::DeliverUnary(Outbox& out) {
  const absl::Time now = connection_->clock().Now();
  const absl::Time deadline = now + kUnaryTimeout;
  auto call = [&](const Connection::Attempt& attempt) {
    return connection_->Retry(deadline, "", attempt);
  };
  for (size_t start = 0; start < out.acks.size(); start += kMaxEntriesPerCall) {
    v1::DeleteRequest request;
    request.set_queue_name(queue_);
    for (size_t i = start;
         i < std::min(out.acks.size(), start + kMaxEntriesPerCall); ++i) {
      v1::DeleteEntry* e = request.add_entries();
      e->set_entry_id(absl::StrCat("a", i - start));
      e->set_receipt_handle(out.acks[i]);
    }
    v1::DeleteResponse response;
    absl::Status s = call([&](const std::string& a, grpc::ClientContext& c) {
      connection_->SetAttemptDeadline(c, deadline);
      return FromGrpc(connection_->Queues(a).Delete(&c, request, &response),
                      &c);
    });
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < request.entries_size(); ++i) {
      const std::string& handle = request.entries(i).receipt_handle();
      absl::Status entry = s;
      if (s.ok()) {
        entry = i < response.results_size()
                    ? FromEntryStatus(response.results(i).status())
                    : absl::InternalError("no result for the entry");
      }
      if (entry.ok()) {
        ++stats_.acked;
        ack_failed_since_.erase(handle);
      } else {
        AckFailed(handle, entry);
      }
    }
  }
  // Nacks and extensions: a lease change each.
  std::vector<std::pair<std::string, absl::Duration>> changes = out.nacks;
  absl::Duration lease;
  {
    absl::MutexLock lock(&mu_);
    lease = keeper_.lease();
  }
  for (const std::string& h : out.extends) changes.emplace_back(h, lease);
  const size_t nacks = out.nacks.size();
  for (size_t start = 0; start < changes.size(); start += kMaxEntriesPerCall) {
    v1::ChangeVisibilityRequest request;
    request.set_queue_name(queue_);
    const size_t end = std::min(changes.size(), start + kMaxEntriesPerCall);
    for (size_t i = start; i < end; ++i) {
      v1::ChangeVisibilityEntry* e = request.add_entries();
      e->set_entry_id(absl::StrCat("c", i - start));
      e->set_receipt_handle(changes[i].first);
      *e->mutable_visibility_timeout() = ToProto(changes[i].second);
    }
    v1::ChangeVisibilityResponse response;
    absl::Status s = call([&](const std::string& a, grpc::ClientContext& c) {
      connection_->SetAttemptDeadline(c, deadline);
      return FromGrpc(
          connection_->Queues(a).ChangeVisibility(&c, request, &response), &c);
    });
    absl::MutexLock lock(&mu_);
    for (size_t i = start; i < end; ++i) {
      if (i < nacks) continue;  // a failed nack just waits out its lease
      const std::string& handle = changes[i].first;
      const size_t k = i - start;
      const bool ok =
          s.ok() && k < static_cast<size_t>(response.results_size()) &&
          response.results(static_cast<int>(k)).status().code() == 0;
      if (ok) {
        keeper_.Extended(handle, now);
        ++stats_.extensions;
      } else if (s.ok() && keeper_.Tracked(handle)) {
        keeper_.Lost(handle);
        ++stats_.leases_lost;
      }
      // If the call failed as a whole, the extension is asked again soon.
    }
  }
  absl::MutexLock lock(&mu_);
  outbox_.credit_messages += out.credit_messages;
  outbox_.credit_bytes += out.credit_bytes;
}

void ConsumerImpl::AckFailed(const std::string& handle,
                             const absl::Status& status) {
  const absl::Time now = connection_->clock().Now();
  const absl::Time since =
      ack_failed_since_.try_emplace(handle, now).first->second;
  if (IsRetryable(status) && now - since < keeper_.lease()) {
    outbox_.acks.push_back(handle);
    return;
  }
  ack_failed_since_.erase(handle);
  ++stats_.ack_failures;
  if (ErrorReason(status) == "RECEIPT_HANDLE_STALE") ++stats_.leases_lost;
}

// ---- handlers ----
// ----------------------------------------------------------------

void ConsumerImpl::Enqueue(v1::Message m) {
  const std::string key = fifo_ ? m.group_id() : m.receipt_handle();
  Lane& lane = lanes_[key];
  lane.messages.push_back(std::move(m));
  if (!lane.running && lane.messages.size() == 1) ready_.push_back(key);
}

void ConsumerImpl::ReleaseLane(Lane& lane, absl::Duration delay) {
  for (const v1::Message& m : lane.messages) {
    outbox_.nacks.emplace_back(m.receipt_handle(), delay);
    keeper_.Forget(m.receipt_handle());
    outstanding_bytes_ -=
        std::min<uint64_t>(outstanding_bytes_, m.size_bytes());
    --outstanding_;
    ++stats_.released;
    if (!stopping_) {
      ++outbox_.credit_messages;
      if (options_.max_outstanding_bytes > 0) {
        outbox_.credit_bytes += m.size_bytes();
      }
    }
  }
  lane.messages.clear();
  writer_wake_ = true;
}

void ConsumerImpl::WorkLoop() {
  for (;;) {
    v1::Message message;
    std::string key;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return closed_ || !ready_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (ready_.empty()) return;
      key = std::move(ready_.front());
      ready_.pop_front();
      Lane& lane = lanes_[key];
      message = std::move(lane.messages.front());
      lane.messages.pop_front();
      lane.running = true;
      ++running_;
    }
    absl::Status outcome;
    try {
      outcome = handler_(message);
    } catch (const std::exception& e) {
      outcome = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
    } catch (...) {
      outcome = absl::InternalError("handler threw");
    }
    Finish(key, message, outcome);
  }
}

void ConsumerImpl::Finish(const std::string& key, const v1::Message& message,
                          const absl::Status& outcome) {
  absl::MutexLock lock(&mu_);
  --running_;
  auto lane = lanes_.find(key);
  if (lane != lanes_.end()) {
    lane->second.running = false;
    // A failed FIFO message comes back first: the rest of its group must
    // not be handled before it, so they go back too.
    if (!outcome.ok() && fifo_) {
      ReleaseLane(lane->second, absl::ZeroDuration());
    }
    if (lane->second.messages.empty()) {
      lanes_.erase(lane);
    } else {
      ready_.push_back(key);
    }
  }
  --outstanding_;
  outstanding_bytes_ -=
      std::min<uint64_t>(outstanding_bytes_, message.size_bytes());
  keeper_.Forget(message.receipt_handle());
  if (outcome.ok()) {
    outbox_.acks.push_back(message.receipt_handle());
  } else {
    outbox_.nacks.emplace_back(message.receipt_handle(),
                               NackDelay(options_, message.receive_count()));
    ++stats_.nacked;
  }
  if (!stopping_) {
    ++outbox_.credit_messages;
    if (options_.max_outstanding_bytes > 0) {
      outbox_.credit_bytes += message.size_bytes();
    }
  }
  writer_wake_ = true;
}

}  // namespace sluice::client::internal
