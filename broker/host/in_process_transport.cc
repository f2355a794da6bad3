#include "broker/host/in_process_transport.h"

#include <algorithm>
#include <utility>

#include "absl/functional/function_ref.h"
#include "raft/leveldb/mutex_lock.h"

namespace sluice::broker {

using raft::ldb::MutexLock;
using sluice::internal::raft::Message;

// One node's side: forwards sends to the hub and guards the handler, so
// that Stop() waits out calls in progress.
class InProcessNetwork::EndpointImpl final : public Transport {
 public:
  EndpointImpl(InProcessNetwork* network, raft::NodeId node)
      : network_(network), node_(node) {}

  void Start(TransportHandler* handler) override {
    MutexLock lock(&mu_);
    handler_ = handler;
  }
  void Stop() override {
    MutexLock lock(&mu_);
    handler_ = nullptr;
  }
  void Send(raft::NodeId to, std::vector<Message> messages) override {
    network_->Route(node_, to, std::move(messages));
  }
  void SendSnapshot(OutgoingSnapshot snapshot) override {
    network_->QueueSnapshot(node_, std::move(snapshot));
  }

  // Runs fn on the handler if started; false otherwise.
  bool Call(absl::FunctionRef<void(TransportHandler*)> fn) {
    MutexLock lock(&mu_);
    if (handler_ == nullptr) return false;
    fn(handler_);
    return true;
  }

 private:
  InProcessNetwork* const network_;
  const raft::NodeId node_;
  absl::Mutex mu_;
  TransportHandler* handler_ ABSL_GUARDED_BY(mu_) = nullptr;
};

InProcessNetwork::InProcessNetwork(uint64_t seed)
    : random_(seed), snapshot_thread_([this] { RunSnapshots(); }) {}

InProcessNetwork::~InProcessNetwork() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    work_.SignalAll();
  }
  snapshot_thread_.join();
}

Transport* InProcessNetwork::Endpoint(raft::NodeId node) {
  MutexLock lock(&mu_);
  auto& endpoint = endpoints_[node];
  if (endpoint == nullptr)
    endpoint = std::make_unique<EndpointImpl>(this, node);
  return endpoint.get();
}

InProcessNetwork::EndpointImpl* InProcessNetwork::Find(raft::NodeId node) {
  MutexLock lock(&mu_);
  auto it = endpoints_.find(node);
  return it == endpoints_.end() ? nullptr : it->second.get();
}

void InProcessNetwork::Cut(raft::NodeId a, raft::NodeId b) {
  MutexLock lock(&mu_);
  cuts_.insert({std::min(a, b), std::max(a, b)});
}

void InProcessNetwork::Heal(raft::NodeId a, raft::NodeId b) {
  MutexLock lock(&mu_);
  cuts_.erase({std::min(a, b), std::max(a, b)});
}

void InProcessNetwork::Isolate(raft::NodeId node) {
  MutexLock lock(&mu_);
  isolated_.insert(node);
}

void InProcessNetwork::Rejoin(raft::NodeId node) {
  MutexLock lock(&mu_);
  isolated_.erase(node);
  blackholed_.erase(node);
}

void InProcessNetwork::Blackhole(raft::NodeId node) {
  MutexLock lock(&mu_);
  blackholed_.insert(node);
}

void InProcessNetwork::SetDropRate(double p) {
  MutexLock lock(&mu_);
  drop_rate_ = p;
}

InProcessNetwork::Stats InProcessNetwork::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

bool InProcessNetwork::Linked(raft::NodeId a, raft::NodeId b) const {
  return !isolated_.contains(a) && !isolated_.contains(b) &&
         !cuts_.contains({std::min(a, b), std::max(a, b)});
}

void InProcessNetwork::Route(raft::NodeId from, raft::NodeId to,
                             std::vector<Message> messages) {
  EndpointImpl* target = nullptr;
  EndpointImpl* source = nullptr;
  bool linked = false;
  {
    MutexLock lock(&mu_);
    if (blackholed_.contains(from) || blackholed_.contains(to)) {
      stats_.dropped += messages.size();
      return;
    }
    auto t = endpoints_.find(to);
    if (t != endpoints_.end()) target = t->second.get();
    source = endpoints_.at(from).get();
    linked = target != nullptr && Linked(from, to);
    if (linked && drop_rate_ > 0) {
      const size_t before = messages.size();
      // A loop, not std::erase_if with a lambda: clang's thread-safety
      // analysis does not see the lock inside a lambda.
      size_t kept = 0;
      for (size_t i = 0; i < messages.size(); ++i) {
        if (random_.Bernoulli(drop_rate_)) continue;
        if (kept != i) messages[kept] = std::move(messages[i]);
        ++kept;
      }
      messages.resize(kept);
      stats_.dropped += before - messages.size();
    }
  }
  const size_t n = messages.size();
  bool delivered = linked && target->Call([&](TransportHandler* h) {
    h->Deliver(from, std::move(messages));
  });
  {
    MutexLock lock(&mu_);
    (delivered ? stats_.delivered : stats_.dropped) += n;
    if (delivered) ++stats_.batches;
  }
  if (!delivered) {
    source->Call([&](TransportHandler* h) { h->ReportUnreachable(to); });
  }
}

void InProcessNetwork::QueueSnapshot(raft::NodeId from,
                                     OutgoingSnapshot snapshot) {
  MutexLock lock(&mu_);
  snapshots_.push_back({from, std::move(snapshot)});
  work_.Signal();
}

void InProcessNetwork::RunSnapshots() {
  while (true) {
    PendingSnapshot next;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && snapshots_.empty()) raft::ldb::Wait(&work_, &mu_);
      if (snapshots_.empty()) return;  // stopping
      next = std::move(snapshots_.front());
      snapshots_.pop_front();
    }
    const raft::GroupId group = next.snapshot.group;
    const raft::NodeId to = next.snapshot.to;
    const bool ok = DeliverSnapshot(next.from, next.snapshot);
    // Release the source (and the DB it pins) before reporting.
    next.snapshot.source.reset();
    {
      MutexLock lock(&mu_);
      ++(ok ? stats_.snapshots_delivered : stats_.snapshots_failed);
    }
    if (EndpointImpl* source = Find(next.from)) {
      source->Call(
          [&](TransportHandler* h) { h->ReportSnapshot(group, to, ok); });
    }
  }
}

bool InProcessNetwork::DeliverSnapshot(raft::NodeId from,
                                       OutgoingSnapshot& snapshot) {
  std::string data;
  while (true) {
    auto chunk = snapshot.source->NextChunk(64 << 10);
    if (!chunk.ok()) return false;
    if (!chunk->has_value()) break;
    data.append(**chunk);
  }
  Message message = std::move(snapshot.message);
  message.mutable_snapshot()->set_data(std::move(data));
  EndpointImpl* target = nullptr;
  {
    MutexLock lock(&mu_);
    auto t = endpoints_.find(snapshot.to);
    if (t == endpoints_.end() || !Linked(from, snapshot.to)) return false;
    target = t->second.get();
  }
  std::vector<Message> batch;
  batch.push_back(std::move(message));
  return target->Call(
      [&](TransportHandler* h) { h->Deliver(from, std::move(batch)); });
}

}  // namespace sluice::broker
