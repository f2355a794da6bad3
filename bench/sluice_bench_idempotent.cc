#include "bench/sluice_bench_idempotent.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/sluice_bench_queue.h"

namespace sluice::bench {
namespace {

constexpr int64_t kFirstBackoffNs = 50000000;  // 50 ms, doubling
constexpr int64_t kMaxBackoffNs = 1000000000;  // 1 s
constexpr int64_t kResolveCallMs = 500;

bool IsStale(const v1::EntryStatus& s) {
  return s.code() == grpc::StatusCode::FAILED_PRECONDITION &&
         s.reason() == v1::ERROR_REASON_PRODUCER_SEQUENCE_STALE;
}

bool IsGap(const v1::EntryStatus& s) {
  return s.code() == grpc::StatusCode::FAILED_PRECONDITION &&
         s.reason() == v1::ERROR_REASON_PRODUCER_SEQUENCE_GAP;
}

}  // namespace

struct IdempotentProducer::Call {
  size_t lane = 0;
  grpc::ClientContext context;
  v1::SendRequest request;
  v1::SendResponse response;
};

IdempotentProducer::IdempotentProducer(IdempotentConfig config)
    : config_(std::move(config)) {
  for (const std::string& a : config_.addresses) {
    stubs_.push_back(v1::Queues::NewStub(NewChannel(a)));
  }
  absl::MutexLock lock(&mu_);
  producer_id_ = absl::StrCat("bench-", RandomHex(16));
  stats_.producer_id = producer_id_;
  lanes_.resize(config_.partitions);
  for (uint32_t p = 0; p < config_.partitions; ++p) {
    lanes_[p].partition = p;
    lanes_[p].target = p % config_.addresses.size();
  }
  const double total =
      NsToSeconds(config_.stop_ns - config_.start_ns) * config_.rate;
  confirmed_.assign(static_cast<size_t>(std::max(0.0, total)) + 16, false);
}

IdempotentProducer::~IdempotentProducer() { Wait(); }

void IdempotentProducer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void IdempotentProducer::Wait() {
  if (thread_.joinable()) thread_.join();
}

void IdempotentProducer::SetKillTime(int64_t kill_ns) {
  absl::MutexLock lock(&mu_);
  kill_ns_ = kill_ns;
}

IdempotentStats IdempotentProducer::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

bool IdempotentProducer::Confirmed(uint64_t seq) const {
  absl::MutexLock lock(&mu_);
  return seq < confirmed_.size() && confirmed_[seq];
}

void IdempotentProducer::Run() {
  SleepUntilNs(config_.start_ns);
  const double interval_ns = 1e9 / config_.rate;
  auto intended = [&](uint64_t j) {  // message j counted from 0
    return config_.start_ns +
           static_cast<int64_t>(static_cast<double>(j) * interval_ns);
  };
  uint64_t k = 0;  // messages generated
  for (;;) {
    std::vector<size_t> go, resolve;
    int64_t wake_at = 0;
    bool finished = false;
    {
      absl::MutexLock lock(&mu_);
      const int64_t now = NowNs();
      while (intended(k) <= now && intended(k) < config_.stop_ns &&
             k + 1 < confirmed_.size()) {
        lanes_[k % lanes_.size()].waiting.push_back({k + 1, intended(k)});
        ++k;
      }
      stats_.sent = k;
      const bool generating =
          intended(k) < config_.stop_ns && k + 1 < confirmed_.size();
      wake_at = generating ? intended(k) : now + 100000000;
      bool idle = true;
      for (size_t i = 0; i < lanes_.size(); ++i) {
        Lane& lane = lanes_[i];
        if (lane.in_flight || !lane.current.empty() || !lane.waiting.empty()) {
          idle = false;
        }
        if (Ready(lane, now)) {
          lane.in_flight = true;
          go.push_back(i);
          if (lane.resolve) resolve.push_back(i);
        } else if (!lane.in_flight && !lane.current.empty()) {
          wake_at = std::min(wake_at, lane.retry_at_ns);
        }
      }
      if ((!generating && idle) || now >= config_.give_up_ns) finished = true;
    }
    if (finished) break;
    for (size_t i : resolve) Resolve(i);
    for (size_t i : go) Issue(i);
    absl::MutexLock lock(&mu_);
    if (!wake_) {
      mu_.AwaitWithTimeout(
          absl::Condition(&wake_),
          absl::Nanoseconds(std::max<int64_t>(wake_at - NowNs(), 0)));
    }
    wake_ = false;
  }
  // Let the last Sends finish (each has a deadline), then count the rest.
  absl::MutexLock lock(&mu_);
  auto quiet = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const Lane& lane : lanes_) {
      if (lane.in_flight) return false;
    }
    return true;
  };
  mu_.Await(absl::Condition(&quiet));
  const int64_t now = NowNs();
  stats_.end_ns = now;
  for (const Lane& lane : lanes_) {
    stats_.unanswered += lane.current.size() + lane.waiting.size();
  }
  if (stats_.unanswered > 0 && last_ack_ns_ != 0) {
    // The gap that never closed counts up to now.
    const int64_t gap = now - last_ack_ns_;
    if (gap > stats_.max_gap_ns) {
      stats_.max_gap_ns = gap;
      stats_.max_gap_start_ns = last_ack_ns_;
    }
    if (kill_ns_ != 0 && now > kill_ns_) {
      stats_.kill_gap_ns = std::max(stats_.kill_gap_ns, gap);
    }
  }
}

bool IdempotentProducer::Ready(Lane& lane, int64_t now_ns) {
  if (lane.in_flight) return false;
  if (!lane.current.empty()) return now_ns >= lane.retry_at_ns;
  if (lane.waiting.empty()) return false;
  while (!lane.waiting.empty() &&
         static_cast<int>(lane.current.size()) < config_.batch) {
    lane.current.push_back(lane.waiting.front());
    lane.waiting.pop_front();
  }
  lane.first_sequence = lane.next_sequence;
  lane.attempts = 0;
  return true;
}

void IdempotentProducer::Resolve(size_t i) {
  std::string hint;
  uint32_t partition = 0;
  size_t target = 0;
  {
    absl::MutexLock lock(&mu_);
    hint = lanes_[i].hint;
    partition = lanes_[i].partition;
    target = lanes_[i].target;
  }
  auto index_of = [this](const std::string& address) -> int {
    for (size_t j = 0; j < config_.addresses.size(); ++j) {
      if (config_.addresses[j] == address) return static_cast<int>(j);
    }
    return -1;
  };
  int chosen = index_of(hint);
  for (size_t n = 0; chosen < 0 && n < stubs_.size(); ++n) {
    const size_t j = (target + n) % stubs_.size();
    v1::GetQueueRequest request;
    request.set_queue_name(config_.queue);
    v1::GetQueueResponse response;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(kResolveCallMs));
    if (!stubs_[j]->GetQueue(&context, request, &response).ok()) continue;
    if (static_cast<int>(partition) < response.partition_routes_size()) {
      chosen = index_of(response.partition_routes(static_cast<int>(partition))
                            .leader_address());
    }
    // No leader we may use (yet): this node answered, it can forward.
    if (chosen < 0) chosen = static_cast<int>(j);
  }
  absl::MutexLock lock(&mu_);
  Lane& lane = lanes_[i];
  lane.target =
      chosen >= 0 ? static_cast<size_t>(chosen) : (target + 1) % stubs_.size();
  lane.resolve = false;
}

void IdempotentProducer::Issue(size_t i) {
  auto* call = new Call;
  call->lane = i;
  size_t target = 0;
  {
    absl::MutexLock lock(&mu_);
    const Lane& lane = lanes_[i];
    target = lane.target;
    v1::SendRequest& r = call->request;
    r.set_queue_name(config_.queue);
    r.set_producer_id(producer_id_);
    v1::ProducerSequence* seq = r.add_producer_sequences();
    seq->set_partition(lane.partition);
    seq->set_first_sequence(lane.first_sequence);
    for (size_t e = 0; e < lane.current.size(); ++e) {
      v1::SendEntry* entry = r.add_entries();
      entry->set_entry_id(absl::StrCat(e));
      entry->set_partition(lane.partition);
      entry->set_body(MakeBody(config_.size, MakeId(0, lane.current[e].seq),
                               lane.current[e].t_ns));
    }
    ++stats_.rpcs;
  }
  call->context.set_deadline(DeadlineIn(config_.rpc_timeout_ms));
  stubs_[target]->async()->Send(
      &call->context, &call->request, &call->response,
      [this, call](grpc::Status status) { OnDone(call, status); });
}

void IdempotentProducer::OnDone(Call* call, const grpc::Status& status) {
  std::unique_ptr<Call> owned(call);
  const int64_t now = NowNs();
  absl::MutexLock lock(&mu_);
  wake_ = true;
  Lane& lane = lanes_[call->lane];
  lane.in_flight = false;
  const std::string address = config_.addresses[lane.target];
  if (!status.ok()) {
    ++stats_.rpc_errors;
    NoteError(absl::StrCat(CodeName(status.error_code()), " via ", address));
    if (Retryable(status.error_code())) {
      Retry(lane, now, Trailer(call->context, "sluice-leader"));
    } else {
      // Refused as a whole: no number was used up (proto: producer_id).
      stats_.failed += lane.current.size();
      lane.current.clear();
    }
    return;
  }
  bool retry = false, gap = false;
  std::string hint, retry_reason;
  uint64_t ok = 0, failed = 0;
  const int n = call->response.results_size();
  for (int e = 0; e < n && e < static_cast<int>(lane.current.size()); ++e) {
    const v1::SendResult& r = call->response.results(e);
    const uint64_t seq = lane.current[static_cast<size_t>(e)].seq;
    const v1::EntryStatus& s = r.status();
    if (s.code() == 0 || IsStale(s)) {
      ++ok;
      if (r.duplicate()) ++stats_.duplicate_acks;
      if (IsStale(s)) ++stats_.stale_acks;
      if (!confirmed_[seq]) {
        confirmed_[seq] = true;
        ++stats_.confirmed;
      }
    } else if (Retryable(s.code())) {
      retry = true;
      retry_reason = absl::StrCat(CodeName(s.code()), " [",
                                  v1::ErrorReason_Name(s.reason()), "]");
      if (!s.leader_address().empty()) hint = s.leader_address();
    } else {
      ++failed;
      gap = gap || IsGap(s);
      NoteError(absl::StrCat(CodeName(s.code()), " [",
                             v1::ErrorReason_Name(s.reason()),
                             "]: ", s.message()));
    }
  }
  if (n != static_cast<int>(lane.current.size())) {
    retry = true;
    NoteError("response has the wrong number of results");
  }
  if (ok > 0) Acked(now);
  if (retry) {
    ++stats_.rpc_errors;
    NoteError(absl::StrCat("entries ", retry_reason, " via ", address));
    Retry(lane, now,
          hint.empty() ? Trailer(call->context, "sluice-leader") : hint);
    return;
  }
  if (ok > 0) lane.next_sequence = lane.first_sequence + lane.current.size();
  stats_.failed += failed;
  if (failed > 0) ++stats_.rpc_errors;
  if (gap) {
    // The partition lost our numbering: start over as a new producer (its
    // first request may start at any number).
    producer_id_ = absl::StrCat("bench-", RandomHex(16));
    ++stats_.producer_id_changes;
  }
  lane.current.clear();
}

void IdempotentProducer::Retry(Lane& lane, int64_t now_ns, std::string hint) {
  ++stats_.retries;
  ++lane.attempts;
  const int shift = std::min(lane.attempts - 1, 10);
  lane.retry_at_ns = now_ns + std::min(kMaxBackoffNs, kFirstBackoffNs << shift);
  lane.resolve = true;
  lane.hint = std::move(hint);
}

void IdempotentProducer::Acked(int64_t now_ns) {
  if (last_ack_ns_ != 0) {
    const int64_t gap = now_ns - last_ack_ns_;
    if (gap > stats_.max_gap_ns) {
      stats_.max_gap_ns = gap;
      stats_.max_gap_start_ns = last_ack_ns_;
    }
    if (kill_ns_ != 0 && now_ns > kill_ns_) {
      stats_.kill_gap_ns = std::max(stats_.kill_gap_ns, gap);
    }
  }
  last_ack_ns_ = now_ns;
}

void IdempotentProducer::NoteError(std::string error) {
  auto it = stats_.errors.find(error);
  if (it != stats_.errors.end()) {
    ++it->second;
  } else if (stats_.errors.size() < 12) {
    stats_.errors.emplace(std::move(error), 1);
  }
}

}  // namespace sluice::bench
