#include "bench/sluice_bench_producer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace sluice::bench {

// One outstanding Send: everything gRPC needs alive until the callback.
struct WindowedProducer::Call {
  grpc::ClientContext context;
  v1::SendRequest request;
  v1::SendResponse response;
};

WindowedProducer::WindowedProducer(std::shared_ptr<grpc::Channel> channel,
                                   ProducerConfig config)
    : config_(std::move(config)), stub_(v1::Queues::NewStub(channel)) {}

WindowedProducer::~WindowedProducer() {
  if (thread_.joinable()) thread_.join();
}

void WindowedProducer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void WindowedProducer::Wait() {
  if (thread_.joinable()) thread_.join();
}

ProducerStats WindowedProducer::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void WindowedProducer::Run() {
  SleepUntilNs(config_.start_ns);
  const bool open_loop = config_.rate > 0;
  const double interval_ns = open_loop ? 1e9 / config_.rate : 0;
  // Intended send time of message number j (from 0), open loop only.
  auto intended = [&](uint64_t j) {
    return config_.start_ns +
           static_cast<int64_t>(static_cast<double>(j) * interval_ns);
  };
  // Open loop: give up waiting for room this long after the stop.
  const int64_t limit_ns = config_.stop_ns + config_.rpc_timeout_ms * 1000000;
  uint64_t k = 0;  // messages started so far
  for (;;) {
    if (config_.quota != 0 && k >= config_.quota) break;
    if (open_loop) {
      const int64_t due = intended(k);
      if (due >= config_.stop_ns) break;
      SleepUntilNs(due);
    }
    std::vector<Message> batch;
    int64_t pause_ns = 0;
    {
      absl::MutexLock lock(&mu_);
      // Wait for room in the window. Open loop: the intended times keep
      // counting, so time spent here shows up as latency (no coordinated
      // omission).
      auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return outstanding_ < config_.window;
      };
      const int64_t wait_until = open_loop ? limit_ns : config_.stop_ns;
      while (!room()) {
        const int64_t left = wait_until - NowNs();
        if (left <= 0) break;
        mu_.AwaitWithTimeout(absl::Condition(&room), absl::Nanoseconds(left));
      }
      if (!room()) break;
      const int64_t now = NowNs();
      if (!open_loop && now >= config_.stop_ns) break;
      if (!open_loop && pause_until_ns_ > now) {
        // The last RPC failed: do not spin on a node that is down.
        pause_ns = pause_until_ns_;
      }
      while (pause_ns == 0 && static_cast<int>(batch.size()) < config_.batch &&
             (config_.quota == 0 || k < config_.quota)) {
        int64_t t = now;
        if (open_loop) {
          t = intended(k);
          if (t > now || t >= config_.stop_ns) break;
        }
        batch.push_back({k + 1, t});
        ++k;
      }
      if (!batch.empty()) {
        ++outstanding_;
        stats_.sent += batch.size();
      }
    }
    if (pause_ns != 0) {
      SleepUntilNs(pause_ns);
      continue;
    }
    if (!batch.empty()) Issue(batch);
  }
  absl::MutexLock lock(&mu_);
  // Every Send has a deadline, so this wait is bounded.
  mu_.Await(absl::Condition(
      +[](int* outstanding) { return *outstanding == 0; }, &outstanding_));
}

void WindowedProducer::Issue(const std::vector<Message>& messages) {
  auto* call = new Call;
  call->context.set_deadline(DeadlineIn(config_.rpc_timeout_ms));
  call->request.set_queue_name(config_.queue);
  for (size_t i = 0; i < messages.size(); ++i) {
    v1::SendEntry* entry = call->request.add_entries();
    entry->set_entry_id(absl::StrCat(i));
    entry->set_body(MakeBody(config_.size,
                             MakeId(config_.index, messages[i].seq),
                             messages[i].t_ns));
  }
  stub_->async()->Send(
      &call->context, &call->request, &call->response,
      [this, call](grpc::Status status) { OnDone(call, status); });
}

void WindowedProducer::OnDone(Call* call, const grpc::Status& status) {
  std::unique_ptr<Call> owned(call);
  const int64_t now = NowNs();
  const uint64_t n = static_cast<uint64_t>(call->request.entries_size());
  absl::MutexLock lock(&mu_);
  --outstanding_;
  ++stats_.rpcs;
  stats_.end_ns = std::max(stats_.end_ns, now);
  if (!status.ok()) {
    ++stats_.rpc_errors;
    stats_.failed += n;
    pause_until_ns_ = now + 10000000;
    NoteError(ToAbsl(status, &call->context).ToString());
  } else {
    uint64_t answered = 0;
    for (const v1::SendResult& r : call->response.results()) {
      ++answered;
      if (r.status().code() == 0) {
        ++stats_.acked;
        uint64_t id = 0;
        int64_t t_ns = 0;
        if (answered <= n &&
            ParseBody(
                call->request.entries(static_cast<int>(answered - 1)).body(),
                &id, &t_ns)) {
          stats_.ack_latency.Add(now - t_ns);
        }
      } else {
        ++stats_.failed;
        NoteError(absl::StrCat(CodeName(r.status().code()), " [",
                               v1::ErrorReason_Name(r.status().reason()),
                               "]: ", r.status().message()));
      }
    }
    if (answered < n) {
      stats_.failed += n - answered;
      NoteError("response has fewer results than entries");
    }
  }
}

void WindowedProducer::NoteError(std::string error) {
  auto it = stats_.errors.find(error);
  if (it != stats_.errors.end()) {
    ++it->second;
  } else if (stats_.errors.size() < 8) {
    stats_.errors.emplace(std::move(error), 1);
  }
}

ProducerStats RunProducers(const std::vector<std::string>& addresses,
                           int producers, const ProducerConfig& base,
                           uint64_t quota, double seconds, int64_t* start_ns) {
  const int64_t start = NowNs() + 200000000;
  std::vector<std::unique_ptr<WindowedProducer>> ps;
  for (int i = 0; i < producers; ++i) {
    ProducerConfig c = base;
    c.index = base.index + i;
    c.start_ns = start;
    if (quota != 0) {
      const uint64_t p = static_cast<uint64_t>(producers);
      c.quota = quota / p + (static_cast<uint64_t>(i) < quota % p ? 1 : 0);
      if (c.quota == 0) continue;
    }
    c.stop_ns = start + SecondsToNs(seconds);
    ps.push_back(std::make_unique<WindowedProducer>(
        NewChannel(addresses[static_cast<size_t>(i) % addresses.size()]), c));
  }
  for (auto& p : ps) p->Start();
  ProducerStats total;
  total.end_ns = start;
  for (auto& p : ps) {
    p->Wait();
    ProducerStats s = p->stats();
    total.sent += s.sent;
    total.acked += s.acked;
    total.failed += s.failed;
    total.rpcs += s.rpcs;
    total.rpc_errors += s.rpc_errors;
    total.end_ns = std::max(total.end_ns, s.end_ns);
    for (const auto& [e, count] : s.errors) total.errors[e] += count;
    total.ack_latency.Append(s.ack_latency);
  }
  *start_ns = start;
  return total;
}

std::string ErrorSummary(const std::map<std::string, uint64_t>& errors) {
  std::vector<std::string> parts;
  for (const auto& [e, count] : errors) {
    parts.push_back(absl::StrCat(count, " x ", e));
  }
  return absl::StrJoin(parts, "; ");
}

}  // namespace sluice::bench
