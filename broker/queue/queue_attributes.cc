#include "broker/queue/queue_attributes.h"

#include "absl/strings/str_format.h"
#include "broker/queue/types.h"

namespace sluice::broker {
namespace {

absl::Status CheckRange(const char* field, int64_t micros, absl::Duration lo,
                        absl::Duration hi) {
  const absl::Duration d = absl::Microseconds(micros);
  if (d < lo || d > hi) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %s is outside [%s, %s]", field, absl::FormatDuration(d),
        absl::FormatDuration(lo), absl::FormatDuration(hi)));
  }
  return absl::OkStatus();
}

}  // namespace

internal::QueueAttributes DefaultQueueAttributes() {
  internal::QueueAttributes a;
  a.set_visibility_timeout_micros(
      absl::ToInt64Microseconds(kDefaultVisibilityTimeout));
  a.set_delay_micros(0);
  a.set_retention_micros(absl::ToInt64Microseconds(kDefaultRetention));
  a.set_max_message_size(kDefaultMaxMessageSize);
  a.set_content_based_dedup(false);
  a.set_dedup_window_micros(absl::ToInt64Microseconds(kDefaultDedupWindow));
  return a;
}

absl::Status ValidateQueueAttributes(const internal::QueueAttributes& a) {
  absl::Status s;
  if (a.has_visibility_timeout_micros()) {
    s.Update(CheckRange("visibility_timeout", a.visibility_timeout_micros(),
                        absl::ZeroDuration(), kMaxVisibilityTimeout));
  }
  if (a.has_delay_micros()) {
    s.Update(CheckRange("delay", a.delay_micros(), absl::ZeroDuration(),
                        kMaxQueueDelay));
  }
  if (a.has_retention_micros()) {
    s.Update(CheckRange("retention", a.retention_micros(), kMinRetention,
                        kMaxRetention));
  }
  if (a.has_dedup_window_micros()) {
    s.Update(CheckRange("dedup_window", a.dedup_window_micros(),
                        kMinDedupWindow, kMaxDedupWindow));
  }
  if (a.has_max_message_size() && (a.max_message_size() < kMinMaxMessageSize ||
                                   a.max_message_size() > kMaxMaxMessageSize)) {
    s.Update(absl::InvalidArgumentError(absl::StrFormat(
        "max_message_size: %d is outside [%d, %d]", a.max_message_size(),
        kMinMaxMessageSize, kMaxMaxMessageSize)));
  }
  if (a.has_redrive_policy()) {
    const auto& p = a.redrive_policy();
    if (p.dead_letter_target().empty()) {
      s.Update(absl::InvalidArgumentError(
          "redrive_policy.dead_letter_target: must name a queue"));
    }
    if (p.max_receive_count() < 1 ||
        p.max_receive_count() > kMaxReceiveCountLimit) {
      s.Update(absl::InvalidArgumentError(
          absl::StrFormat("redrive_policy.max_receive_count: %d is outside "
                          "[1, %d]",
                          p.max_receive_count(), kMaxReceiveCountLimit)));
    }
  }
  if (a.has_retry_backoff()) {
    const auto& b = a.retry_backoff();
    s.Update(CheckRange("retry_backoff.initial", b.initial_micros(),
                        absl::Microseconds(1), kMaxVisibilityTimeout));
    s.Update(CheckRange("retry_backoff.max", b.max_micros(),
                        absl::Microseconds(b.initial_micros()),
                        kMaxVisibilityTimeout));
  }
  return s;
}

absl::Status MergeQueueAttributes(const internal::SetQueueAttributes& set,
                                  bool first,
                                  internal::QueueAttributes* current) {
  const internal::QueueAttributes& a = set.attributes();
  if (absl::Status s = ValidateQueueAttributes(a); !s.ok()) return s;
  if (!first && a.has_fifo() && a.fifo() != current->fifo()) {
    return absl::InvalidArgumentError(
        "fifo: a queue's type is fixed when it is created");
  }
  if (!first && !a.name().empty() && a.name() != current->name()) {
    return absl::InvalidArgumentError("name: a queue cannot be renamed");
  }
  const bool fifo = first ? a.fifo() : current->fifo();
  if (!fifo && a.has_content_based_dedup() && a.content_based_dedup()) {
    return absl::InvalidArgumentError(
        "content_based_dedup: only FIFO queues deduplicate");
  }
  internal::QueueAttributes merged = *current;
  if (first) merged.set_fifo(a.fifo());
  if (!a.name().empty()) merged.set_name(a.name());
  if (a.has_visibility_timeout_micros()) {
    merged.set_visibility_timeout_micros(a.visibility_timeout_micros());
  }
  if (a.has_delay_micros()) merged.set_delay_micros(a.delay_micros());
  if (a.has_retention_micros()) {
    merged.set_retention_micros(a.retention_micros());
  }
  if (a.has_max_message_size()) {
    merged.set_max_message_size(a.max_message_size());
  }
  if (a.has_content_based_dedup()) {
    merged.set_content_based_dedup(a.content_based_dedup());
  }
  if (a.has_dedup_window_micros()) {
    merged.set_dedup_window_micros(a.dedup_window_micros());
  }
  if (set.clear_redrive_policy()) merged.clear_redrive_policy();
  if (a.has_redrive_policy()) {
    *merged.mutable_redrive_policy() = a.redrive_policy();
  }
  if (set.clear_retry_backoff()) merged.clear_retry_backoff();
  if (a.has_retry_backoff()) {
    *merged.mutable_retry_backoff() = a.retry_backoff();
  }
  *current = merged;
  return absl::OkStatus();
}

}  // namespace sluice::broker
