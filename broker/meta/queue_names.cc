#include "broker/meta/queue_names.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace sluice::meta {

absl::Status ValidateQueueName(std::string_view name, bool fifo,
                               std::string_view field) {
  constexpr std::string_view kFifoSuffix = ".fifo";
  auto invalid = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": ", what));
  };
  if (name.empty()) return invalid("required (1-80 characters)");
  if (name.size() > 80) {
    return invalid(absl::StrCat(name.size(), " characters; at most 80"));
  }
  const bool has_suffix =
      name.size() >= kFifoSuffix.size() &&
      name.substr(name.size() - kFifoSuffix.size()) == kFifoSuffix;
  if (fifo && !has_suffix) {
    return invalid(
        absl::StrCat("'", std::string(name),
                     "': a FIFO queue's name must end in \".fifo\""));
  }
  if (!fifo && has_suffix) {
    return invalid(absl::StrCat("'", std::string(name),
                                "': only FIFO queues may end in \".fifo\""));
  }
  const std::string_view stem =
      has_suffix ? name.substr(0, name.size() - kFifoSuffix.size()) : name;
  if (stem.empty()) return invalid("'.fifo' alone is not a name");
  for (size_t i = 0; i < stem.size(); ++i) {
    const char c = stem[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) {
      return invalid(absl::StrCat("character ", i + 1, " of '",
                                  std::string(name),
                                  "' is not a letter, digit, '-' or '_'"));
    }
  }
  return absl::OkStatus();
}

absl::Status TooManyQueues(uint32_t max_queues) {
  return absl::ResourceExhaustedError(
      absl::StrCat("the cluster already holds ", max_queues,
                   " queues, the most its nodes' --max-queues allows; delete "
                   "a queue or raise the limit"));
}

}  // namespace sluice::meta
