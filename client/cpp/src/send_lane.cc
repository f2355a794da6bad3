#include "client/cpp/src/send_lane.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/cpp/src/rpc_status.h"
#include "sluice/client/errors.h"

namespace sluice::client::internal {
namespace {

bool HasReason(const v1::EntryStatus& s, v1::ErrorReason reason) {
  return s.code() == static_cast<int>(absl::StatusCode::kFailedPrecondition) &&
         s.reason() == reason;
}

// The entry index k of an error about "entries[k]...", if it is one.
std::optional<size_t> EntryIndex(const absl::Status& status) {
  const std::string field = ErrorField(status);
  const size_t close = field.find(']');
  size_t k = 0;
  if (field.rfind("entries[", 0) != 0 || close == std::string::npos ||
      !absl::SimpleAtoi(field.substr(8, close - 8), &k)) {
    return std::nullopt;
  }
  return k;
}

}  // namespace

SendLane::SendLane(uint32_t partition, std::string producer_base,
                   const RetryOptions& retry, uint64_t seed)
    : partition_(partition),
      producer_base_(std::move(producer_base)),
      backoff_(retry, seed) {}

std::string SendLane::producer_id() const {
  return epoch_ == 0 ? producer_base_
                     : absl::StrCat(producer_base_, "-", epoch_);
}

void SendLane::Add(PendingSend message) {
  waiting_.push_back(std::move(message));
}

std::optional<absl::Time> SendLane::NextWake(const BatchLimits& limits) const {
  if (in_flight_) return std::nullopt;
  if (!current_.empty()) return retry_at_;
  if (waiting_.empty()) return std::nullopt;
  return waiting_.front().enqueued + limits.linger;
}

std::optional<v1::SendRequest> SendLane::Next(absl::Time now,
                                              const BatchLimits& limits,
                                              bool flush,
                                              const std::string& queue) {
  if (in_flight_) return std::nullopt;
  if (!current_.empty()) {
    if (retry_at_.has_value() && *retry_at_ > now) return std::nullopt;
    ++resends_;
  } else {
    if (waiting_.empty()) return std::nullopt;
    size_t bytes = 0;
    for (const PendingSend& m : waiting_) bytes += m.bytes;
    const bool full =
        waiting_.size() >= static_cast<size_t>(limits.max_messages) ||
        bytes >= limits.max_bytes;
    if (!full && !flush && waiting_.front().enqueued + limits.linger > now) {
      return std::nullopt;
    }
    size_t batch_bytes = 0;
    while (!waiting_.empty() &&
           current_.size() < static_cast<size_t>(limits.max_messages) &&
           (current_.empty() ||
            batch_bytes + waiting_.front().bytes <= limits.max_bytes)) {
      batch_bytes += waiting_.front().bytes;
      current_.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    first_sequence_ = next_sequence_;
    next_sequence_ += current_.size();
    backoff_.Reset();
  }
  retry_at_.reset();
  in_flight_ = true;
  v1::SendRequest request;
  request.set_queue_name(queue);
  request.set_producer_id(producer_id());
  v1::ProducerSequence* sequence = request.add_producer_sequences();
  sequence->set_partition(partition_);
  sequence->set_first_sequence(first_sequence_);
  for (size_t i = 0; i < current_.size(); ++i) {
    v1::SendEntry* entry = request.add_entries();
    *entry = current_[i].entry;
    entry->set_entry_id(absl::StrCat("m", i));
    entry->set_partition(partition_);
  }
  return request;
}

void SendLane::Fail(PendingSend& message, const absl::Status& status,
                    Completions& out) {
  if (!message.answered && message.done) out.push_back({message.done, status});
  message.answered = true;
}

void SendLane::FailCurrent(const absl::Status& status, Completions& out) {
  for (PendingSend& m : current_) Fail(m, status, out);
  current_.clear();
}

void SendLane::ScheduleRetry(const absl::Status& status, absl::Time now) {
  retry_at_ = now + backoff_.Next(RetryAfter(status));
  target_ = LeaderHint(status);
}

void SendLane::StartNewEpoch() {
  ++epoch_;
  first_sequence_ = 1;
  next_sequence_ = 1 + current_.size();
  retry_at_.reset();
}

Completions SendLane::OnRpcError(const absl::Status& status, absl::Time now) {
  in_flight_ = false;
  Completions out;
  if (IsRetryable(status)) {
    ScheduleRetry(status, now);
    return out;
  }
  const std::optional<size_t> bad = EntryIndex(status);
  if (status.code() == absl::StatusCode::kInvalidArgument && bad.has_value() &&
      *bad < current_.size()) {
    // The request was refused as a whole for one entry and no sequence
    // number was used up: drop that entry, resend the rest as they are.
    Fail(current_[*bad], status, out);
    current_.erase(current_.begin() + static_cast<std::ptrdiff_t>(*bad));
    next_sequence_ = first_sequence_ + current_.size();
    retry_at_ = now;
    return out;
  }
  // Anything else ends the request. Its numbers stay used: if it was not
  // applied, the next request meets a gap and starts a new epoch, which is
  // safe, while reusing numbers the server did apply would not be.
  FailCurrent(status, out);
  return out;
}

Completions SendLane::OnResponse(const v1::SendResponse& response,
                                 absl::Time now) {
  in_flight_ = false;
  Completions out;
  if (static_cast<size_t>(response.results_size()) != current_.size()) {
    FailCurrent(absl::InternalError(
                    absl::StrCat("server answered ", response.results_size(),
                                 " results for ", current_.size(), " entries")),
                out);
    return out;
  }
  for (const v1::SendResult& r : response.results()) {
    if (HasReason(r.status(), v1::ERROR_REASON_PRODUCER_SEQUENCE_GAP)) {
      // Nothing of this partition was applied: an earlier request that was
      // given up never arrived. Renumber under a new producer id.
      StartNewEpoch();
      retry_at_ = now;
      return out;
    }
  }
  for (const v1::SendResult& r : response.results()) {
    const absl::Status s = FromEntryStatus(r.status());
    if (!s.ok() && IsRetryable(s)) {
      // A partition's entries are applied all or none: resend them all.
      ScheduleRetry(s, now);
      return out;
    }
  }
  for (int i = 0; i < response.results_size(); ++i) {
    const v1::SendResult& r = response.results(i);
    PendingSend& m = current_[static_cast<size_t>(i)];
    if (HasReason(r.status(), v1::ERROR_REASON_PRODUCER_SEQUENCE_STALE)) {
      SendReceipt receipt;
      receipt.partition = partition_;
      receipt.duplicate = true;
      receipt.forgotten = true;
      if (!m.answered && m.done) out.push_back({m.done, receipt});
      m.answered = true;
      continue;
    }
    const absl::Status s = FromEntryStatus(r.status());
    if (!s.ok()) {
      Fail(m, s, out);
      continue;
    }
    SendReceipt receipt;
    receipt.message_id = r.message_id();
    receipt.partition = r.partition();
    receipt.sequence_number = r.sequence_number();
    receipt.duplicate = r.duplicate();
    if (!m.answered && m.done) out.push_back({m.done, receipt});
    m.answered = true;
  }
  current_.clear();
  target_.clear();
  return out;
}

Completions SendLane::Expire(absl::Time now) {
  Completions out;
  // Callers choose deadlines, so any waiting message may be due.
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->deadline <= now) {
      Fail(*it,
           absl::DeadlineExceededError("send timed out before it was sent"),
           out);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  bool all_answered = !current_.empty();
  for (PendingSend& m : current_) {
    if (m.deadline <= now) {
      Fail(m,
           absl::DeadlineExceededError(
               "send timed out; it may or may not have been enqueued (never "
               "twice: retries are idempotent)"),
           out);
    }
    all_answered = all_answered && m.answered;
  }
  // Nobody waits for the request any more and it is not on the wire: give
  // it up. Its numbers stay used (see OnRpcError).
  if (all_answered && !in_flight_) current_.clear();
  return out;
}

}  // namespace sluice::client::internal
