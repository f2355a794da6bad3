#include "client/cpp/src/connection.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/cpp/src/backoff.h"
#include "client/cpp/src/rpc_status.h"
#include "sluice/client/errors.h"

namespace sluice::client::internal {
namespace {

std::shared_ptr<grpc::Channel> NewChannel(
    const std::string& address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  grpc::ChannelArguments args;
  // A node that went away must be retried within a second when it returns,
  // not after gRPC's default reconnect backoff of up to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // Streams idle for minutes must notice a dead peer.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  return grpc::CreateCustomChannel(
      address,
      credentials != nullptr ? credentials : grpc::InsecureChannelCredentials(),
      args);
}

}  // namespace

Connection::Connection(ClientOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock
                                       : MonotonicClock::Get()),
      random_seed_(options_.random_seed != 0 ? options_.random_seed
                                             : std::random_device()()) {}

Connection::Stubs& Connection::StubsFor(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Stubs>& stubs = stubs_[address];
  if (stubs == nullptr) {
    stubs = std::make_unique<Stubs>();
    stubs->channel = NewChannel(address, options_.credentials);
    stubs->queues = v1::Queues::NewStub(stubs->channel);
    stubs->cluster = v1::Cluster::NewStub(stubs->channel);
  }
  return *stubs;
}

v1::Queues::Stub& Connection::Queues(const std::string& address) {
  return *StubsFor(address).queues;
}

v1::Cluster::Stub& Connection::Cluster(const std::string& address) {
  return *StubsFor(address).cluster;
}

std::string Connection::AnyAddress() {
  std::vector<std::string> all = options_.seeds;
  for (std::string& a : routes_.KnownAddresses()) {
    if (std::find(all.begin(), all.end(), a) == all.end()) {
      all.push_back(std::move(a));
    }
  }
  if (all.empty()) return "";
  return all[rotation_.fetch_add(1) % all.size()];
}

uint64_t Connection::NextRandomSeed() {
  return random_seed_.fetch_add(0x9E3779B97F4A7C15ULL);
}

absl::Time Connection::DeadlineIn(std::optional<absl::Duration> timeout) const {
  return clock_->Now() + timeout.value_or(options_.default_timeout);
}

void Connection::SetAttemptDeadline(grpc::ClientContext& context,
                                    absl::Time deadline,
                                    absl::Duration extra) const {
  const absl::Duration left = deadline - clock_->Now();
  const absl::Duration budget =
      std::max(absl::Milliseconds(1),
               std::min(options_.retry.attempt_timeout + extra, left));
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(budget));
}

absl::Status Connection::Retry(absl::Time deadline,
                               const std::string& preferred,
                               const Attempt& attempt) {
  Backoff backoff(options_.retry, NextRandomSeed());
  std::string address = preferred.empty() ? AnyAddress() : preferred;
  if (address.empty()) {
    return absl::InvalidArgumentError("no node address: give seeds");
  }
  for (;;) {
    grpc::ClientContext context;
    absl::Status status = attempt(address, context);
    if (status.ok() || !IsRetryable(status)) return status;
    const absl::Duration wait = backoff.Next(RetryAfter(status));
    if (clock_->Now() + wait >= deadline) return status;
    absl::SleepFor(wait);
    const std::string hint = LeaderHint(status);
    address = hint.empty() ? AnyAddress() : hint;
  }
}

absl::StatusOr<QueueRoute> Connection::Route(const std::string& queue,
                                             bool refresh,
                                             absl::Time deadline) {
  if (!refresh) {
    if (std::optional<QueueRoute> known = routes_.Find(queue)) return *known;
  }
  v1::GetQueueRequest request;
  request.set_queue_name(queue);
  v1::GetQueueResponse response;
  absl::Status status = Retry(
      deadline, "", [&](const std::string& address, grpc::ClientContext& c) {
        SetAttemptDeadline(c, deadline);
        return FromGrpc(Queues(address).GetQueue(&c, request, &response), &c);
      });
  if (!status.ok()) return status;
  QueueRoute route = RouteFrom(response);
  routes_.Put(route);
  return route;
}

}  // namespace sluice::client::internal
