#include "bench/sluice_bench_sink.h"

#include <algorithm>

#include "absl/time/time.h"

namespace sluice::bench {

ConsumeSink::ConsumeSink(SinkConfig config)
    : config_(config), target_(config.target), idle_origin_ns_(NowNs()) {}

void ConsumeSink::OnMessages(
    const google::protobuf::RepeatedPtrField<v1::Message>& ms, int64_t now_ns) {
  absl::MutexLock lock(&mu_);
  for (const v1::Message& m : ms) {
    ++stats_.received;
    if (stats_.first_ns == 0) stats_.first_ns = now_ns;
    stats_.last_ns = now_ns;
    uint64_t id = 0;
    int64_t t_ns = 0;
    if (!ParseBody(m.body(), &id, &t_ns)) {
      ++stats_.foreign;
      continue;
    }
    samples_.Add(now_ns - t_ns);
    auto [it, inserted] = seen_.try_emplace(id, m.message_id());
    if (inserted) {
      ++stats_.unique;
    } else if (it->second == m.message_id()) {
      ++stats_.redelivered;
    } else {
      ++stats_.duplicates;
    }
  }
  CheckDone(now_ns);
}

void ConsumeSink::OnAcked(uint64_t ok, uint64_t failed) {
  absl::MutexLock lock(&mu_);
  stats_.acked += ok;
  stats_.ack_failed += failed;
  CheckDone(NowNs());
}

void ConsumeSink::SetTarget(uint64_t target) {
  absl::MutexLock lock(&mu_);
  target_ = target;
  CheckDone(NowNs());
}

void ConsumeSink::Stop() {
  absl::MutexLock lock(&mu_);
  if (done_.load()) return;
  stats_.done_ns = NowNs();
  done_.store(true);
}

void ConsumeSink::ResetIdle() {
  absl::MutexLock lock(&mu_);
  idle_origin_ns_ = NowNs();
}

bool ConsumeSink::CheckDone(int64_t now_ns) {
  if (done_.load()) return true;
  bool done = false;
  if (target_ != 0 && stats_.unique >= target_ && stats_.acked >= target_) {
    done = true;
  }
  const int64_t last = std::max(stats_.last_ns, idle_origin_ns_);
  if (config_.idle_seconds > 0 &&
      now_ns - last > SecondsToNs(config_.idle_seconds)) {
    done = true;
  }
  if (config_.deadline_ns != 0 && now_ns >= config_.deadline_ns) done = true;
  if (done) {
    stats_.done_ns = now_ns;
    done_.store(true);
  }
  return done;
}

bool ConsumeSink::Done() {
  if (done_.load()) return true;
  absl::MutexLock lock(&mu_);
  return CheckDone(NowNs());
}

void ConsumeSink::WaitDone() {
  while (!Done()) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(
        absl::Condition(
            +[](std::atomic<bool>* d) { return d->load(); }, &done_),
        absl::Milliseconds(100));
  }
}

SinkStats ConsumeSink::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

Samples ConsumeSink::TakeSamples() {
  absl::MutexLock lock(&mu_);
  return std::move(samples_);
}

bool ConsumeSink::Seen(uint64_t id) const {
  absl::MutexLock lock(&mu_);
  return seen_.contains(id);
}

}  // namespace sluice::bench
