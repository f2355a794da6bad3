#include "client/cpp/src/producer_engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/xxh64.h"
#include "client/cpp/src/rpc_status.h"
#include "google/protobuf/util/time_util.h"

namespace sluice::client::internal {
namespace {

constexpr size_t kMaxRequestBytes = 4 << 20;  // SendRequest limit
constexpr absl::Duration kRouteLookup = absl::Seconds(2);
constexpr absl::Duration kIdlePoll = absl::Seconds(1);
constexpr absl::Duration kBusyPoll = absl::Milliseconds(50);

size_t MessageBytes(const OutgoingMessage& m) {
  size_t bytes = m.body.size();
  for (const auto& [name, value] : m.attributes) {
    bytes += name.size() + value.ByteSizeLong();
  }
  return bytes;
}

v1::SendEntry EntryOf(OutgoingMessage& m) {
  v1::SendEntry entry;
  entry.set_body(std::move(m.body));
  for (auto& [name, value] : m.attributes) {
    (*entry.mutable_attributes())[name] = std::move(value);
  }
  entry.set_group_id(std::move(m.group_id));
  entry.set_dedup_id(std::move(m.dedup_id));
  if (m.delay.has_value()) {
    *entry.mutable_delay() =
        google::protobuf::util::TimeUtil::NanosecondsToDuration(
            absl::ToInt64Nanoseconds(*m.delay));
  }
  return entry;
}

}  // namespace

struct ProducerEngine::Call {
  size_t lane = 0;
  uint32_t partition = 0;
  std::string address;
  grpc::ClientContext context;
  v1::SendRequest request;
  v1::SendResponse response;
};

ProducerEngine::ProducerEngine(std::shared_ptr<Connection> connection,
                               QueueRoute route, ProducerOptions options)
    : connection_(std::move(connection)),
      route_(std::move(route)),
      options_(options) {
  limits_.max_messages = std::clamp(options_.max_batch_messages, 1, 100);
  limits_.max_bytes =
      std::clamp<size_t>(options_.max_batch_bytes, 1, kMaxRequestBytes);
  limits_.linger = std::max(options_.linger, absl::ZeroDuration());
  const std::string base = absl::StrCat(
      connection_->options().producer_name.empty()
          ? "sluice"
          : connection_->options().producer_name.substr(0, 32),
      "-", absl::Hex(connection_->NextRandomSeed(), absl::kZeroPad16));
  lanes_per_partition_ =
      static_cast<uint32_t>(std::clamp(options_.requests_per_partition, 1, 16));
  absl::MutexLock lock(&mu_);
  // Lane i serves partition i / lanes_per_partition_, under its own
  // producer id (each id may have only one request in flight).
  for (uint32_t p = 0; p < route_.partitions; ++p) {
    for (uint32_t k = 0; k < lanes_per_partition_; ++k) {
      lanes_.emplace_back(
          p, lanes_per_partition_ == 1 ? base : absl::StrCat(base, "-", k),
          connection_->options().retry, connection_->NextRandomSeed());
    }
  }
  thread_ = std::thread([this] { Run(); });
}

ProducerEngine::~ProducerEngine() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_ = true;
  }
  thread_.join();
  while (callbacks_active_.load(std::memory_order_acquire) != 0) {
    absl::SleepFor(absl::Microseconds(100));
  }
}

absl::StatusOr<uint32_t> ProducerEngine::PartitionFor(
    const OutgoingMessage& m) {
  if (route_.fifo && m.group_id.empty()) {
    return absl::InvalidArgumentError(
        "group_id: required on a FIFO queue (it orders the messages)");
  }
  if (route_.fifo && m.delay.has_value()) {
    return absl::InvalidArgumentError(
        "delay: FIFO queues do not accept per-message delays");
  }
  if (route_.max_message_size > 0 &&
      MessageBytes(m) > route_.max_message_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "body: ", MessageBytes(m), " bytes with attributes; the queue allows ",
        route_.max_message_size));
  }
  const uint32_t per = lanes_per_partition_;
  std::optional<uint32_t> p =
      RoutedPartition(route_.fifo, m.group_id, m.dedup_id, route_.partitions);
  if (p.has_value() && route_.fifo) {
    // A group always takes the same lane, so its messages stay in order.
    return *p * per + static_cast<uint32_t>(Xxh64(m.group_id, 1) % per);
  }
  // Otherwise any lane of the partition (or of any partition, without a
  // routing key): the one with the least waiting, from a rotating start.
  const uint32_t first = p.has_value() ? *p * per : 0;
  const uint32_t count = p.has_value() ? per : route_.partitions * per;
  uint32_t best = first + spread_++ % count;
  for (uint32_t k = 0; k < count; ++k) {
    const uint32_t lane = first + (best - first + k) % count;
    if (lanes_[lane].waiting() < lanes_[best].waiting()) best = lane;
  }
  return best;
}

void ProducerEngine::Send(OutgoingMessage message, SendCallback done) {
  const absl::Duration timeout = options_.send_timeout > absl::ZeroDuration()
                                     ? options_.send_timeout
                                     : connection_->options().default_timeout;
  SendBy(std::move(message), connection_->DeadlineIn(timeout), std::move(done));
}

void ProducerEngine::SendBy(OutgoingMessage message, absl::Time deadline,
                            SendCallback done) {
  const size_t bytes = MessageBytes(message);
  absl::StatusOr<uint32_t> partition;
  uint64_t number = 0;
  {
    absl::MutexLock lock(&mu_);
    partition = PartitionFor(message);
    if (partition.ok()) {
      // Back-pressure: wait for room (a message larger than the whole
      // budget goes when nothing else is in flight).
      auto room = [this, bytes]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || bytes_in_flight_ == 0 ||
               bytes_in_flight_ + bytes <= options_.max_bytes_in_flight;
      };
      const absl::Duration left = deadline - connection_->clock().Now();
      if (!mu_.AwaitWithTimeout(absl::Condition(&room), left)) {
        partition = absl::ResourceExhaustedError(absl::StrCat(
            "producer buffer full: ", bytes_in_flight_,
            " bytes unconfirmed (max_bytes_in_flight) until the deadline"));
      } else if (stopping_) {
        partition = absl::FailedPreconditionError("producer is closing");
      }
    }
    if (partition.ok()) {
      number = ++submitted_;
      unresolved_.insert(number);
      bytes_in_flight_ += bytes;
      PendingSend pending;
      pending.entry = EntryOf(message);
      pending.bytes = bytes;
      pending.enqueued = connection_->clock().Now();
      pending.deadline = deadline;
      pending.done = [this, bytes, number,
                      done = std::move(done)](absl::StatusOr<SendReceipt> r) {
        {
          absl::MutexLock lock(&mu_);
          bytes_in_flight_ -= bytes;  // room for a Send from the callback
          ++stats_.messages;
          if (!r.ok()) ++stats_.failed;
        }
        if (done) done(std::move(r));
        // Only now: Flush promises that the callbacks have run.
        absl::MutexLock lock(&mu_);
        unresolved_.erase(number);
      };
      lanes_[*partition].Add(std::move(pending));
      wake_ = true;
      return;
    }
  }
  if (done) done(partition.status());
}

absl::Status ProducerEngine::Flush(std::optional<absl::Duration> timeout) {
  const absl::Duration wait =
      timeout.value_or(connection_->options().default_timeout);
  absl::MutexLock lock(&mu_);
  const uint64_t last = submitted_;
  ++flush_waiters_;
  wake_ = true;
  auto resolved = [this, last]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return unresolved_.empty() || *unresolved_.begin() > last;
  };
  const bool done = mu_.AwaitWithTimeout(absl::Condition(&resolved), wait);
  --flush_waiters_;
  if (done) return absl::OkStatus();
  return absl::DeadlineExceededError(
      absl::StrCat("flush: ", unresolved_.size(), " messages unresolved"));
}

Producer::Stats ProducerEngine::stats() const {
  absl::MutexLock lock(&mu_);
  Stats s = stats_;
  for (const SendLane& lane : lanes_) {
    s.retries += lane.resends();
    s.new_epochs += lane.epoch();
  }
  return s;
}

void ProducerEngine::Collect(std::vector<Issue>& issues,
                             Completions& completions, absl::Time& wake) {
  const absl::Time now = connection_->clock().Now();
  const bool flush = flush_waiters_ > 0 || stopping_;
  std::optional<QueueRoute> route = connection_->routes().Find(route_.name);
  for (size_t i = 0; i < lanes_.size(); ++i) {
    SendLane& lane = lanes_[i];
    Completions expired = lane.Expire(now);
    for (Completion& c : expired) completions.push_back(std::move(c));
    const uint64_t resends = lane.resends();
    std::optional<v1::SendRequest> request =
        lane.Next(now, limits_, flush, route_.name);
    if (request.has_value()) {
      std::string address = lane.target();
      // A resend without a leader hint looks the leader up again: the one
      // we knew may be gone.
      if (address.empty() && lane.resends() == resends && route.has_value() &&
          lane.partition() < route->leaders.size()) {
        address = route->leaders[lane.partition()];
      }
      issues.push_back({i, lane.partition(), *std::move(request), address});
      ++calls_in_flight_;
      ++stats_.requests;
    }
    if (std::optional<absl::Time> t = lane.NextWake(limits_)) {
      wake = std::min(wake, *t);
    }
  }
}

void ProducerEngine::Finish(Completions& completions) {
  for (Completion& c : completions) c.done(std::move(c.result));
  completions.clear();
}

void ProducerEngine::Run() {
  absl::Duration sleep = absl::ZeroDuration();
  for (;;) {
    std::vector<Issue> issues;
    Completions completions;
    absl::Time wake = absl::InfiniteFuture();
    bool idle = true;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&wake_), sleep);
      wake_ = false;
      for (const SendLane& lane : lanes_) idle = idle && lane.idle();
      if (stopping_ && idle && calls_in_flight_ == 0) break;
      Collect(issues, completions, wake);
    }
    Finish(completions);
    for (Issue& issue : issues) Start(std::move(issue));
    // Poll now and then even when nothing is due: deadlines expire.
    const absl::Duration until = wake - connection_->clock().Now();
    sleep =
        std::clamp(until, absl::ZeroDuration(), idle ? kIdlePoll : kBusyPoll);
  }
}

void ProducerEngine::Start(Issue issue) {
  const uint32_t partition = issue.partition;
  if (issue.address.empty()) {
    absl::StatusOr<QueueRoute> route =
        connection_->Route(route_.name, /*refresh=*/true,
                           connection_->clock().Now() + kRouteLookup);
    if (route.ok() && partition < route->leaders.size()) {
      issue.address = route->leaders[partition];
    }
    if (issue.address.empty()) issue.address = connection_->AnyAddress();
  }
  callbacks_active_.fetch_add(1, std::memory_order_relaxed);
  auto* call = new Call;
  call->lane = issue.lane;
  call->partition = issue.partition;
  call->address = issue.address;
  call->request = std::move(issue.request);
  connection_->SetAttemptDeadline(call->context, absl::InfiniteFuture());
  connection_->Queues(call->address)
      .async()
      ->Send(&call->context, &call->request, &call->response,
             [this, call](grpc::Status status) { OnDone(call, status); });
}

void ProducerEngine::OnDone(Call* call, const grpc::Status& grpc_status) {
  const absl::Status status = FromGrpc(grpc_status, &call->context);
  const uint32_t partition = call->partition;
  Completions completions;
  {
    absl::MutexLock lock(&mu_);
    SendLane& lane = lanes_[call->lane];
    if (status.ok()) {
      // A forwarded answer names the leader; else the node we asked leads.
      const std::string hint = LeaderHint(call->context);
      connection_->routes().SetLeader(route_.name, partition,
                                      hint.empty() ? call->address : hint);
      completions = lane.OnResponse(call->response, connection_->clock().Now());
    } else {
      const std::string hint = LeaderHint(status);
      if (!hint.empty()) {
        connection_->routes().SetLeader(route_.name, partition, hint);
      }
      completions = lane.OnRpcError(status, connection_->clock().Now());
    }
  }
  delete call;
  Finish(completions);
  // Once no call is in flight the engine may stop, and the completions
  // above still use it; the destructor also waits for this callback to
  // have let go of the mutex (callbacks_active_, the very last access).
  {
    absl::MutexLock lock(&mu_);
    --calls_in_flight_;
    wake_ = true;
  }
  callbacks_active_.fetch_sub(1, std::memory_order_release);
}

}  // namespace sluice::client::internal
