#include "broker/queue/validation.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/queue/types.h"

namespace sluice::broker {
namespace {

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(AbslView(field), ": ", AbslView(what)));
}

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '-' || c == '.';
}

// A decimal number as SQS's Number type takes it: sign, digits, optional
// fraction and exponent, at most 38 significant digits.
bool IsNumber(std::string_view v) {
  size_t i = 0;
  if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
  int digits = 0;
  int significant = 0;
  bool leading = true;
  bool dot = false;
  for (; i < v.size(); ++i) {
    const char c = v[i];
    if (c >= '0' && c <= '9') {
      ++digits;
      if (c != '0') leading = false;
      if (!leading) ++significant;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (digits == 0 || significant > 38) return false;
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
    int exp_digits = 0;
    for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) ++exp_digits;
    if (exp_digits == 0 || exp_digits > 3) return false;
  }
  return i == v.size();
}

absl::Status ValidateAttribute(const std::string& field,
                               const internal::MessageAttribute& a) {
  if (absl::Status s = ValidateAttributeName(field + ".name", a.name());
      !s.ok()) {
    return s;
  }
  const std::string& type = a.data_type();
  std::string_view base = type;
  if (size_t dot = type.find('.'); dot != std::string::npos) {
    base = base.substr(0, dot);
    if (dot + 1 == type.size()) {
      return Invalid(field + ".data_type", "empty custom type after '.'");
    }
  }
  if (type.size() > kMaxNameLength) {
    return Invalid(field + ".data_type", "longer than 256 characters");
  }
  if (base == "String" || base == "Number") {
    if (a.value_case() != internal::MessageAttribute::kStringValue) {
      return Invalid(field + ".string_value",
                     absl::StrCat("required for type ", AbslView(base)));
    }
    if (base == "Number" && !IsNumber(a.string_value())) {
      return Invalid(field + ".string_value",
                     "not a number (decimal, at most 38 digits)");
    }
    if (base == "String" && a.string_value().empty()) {
      return Invalid(field + ".string_value", "must not be empty");
    }
  } else if (base == "Binary") {
    if (a.value_case() != internal::MessageAttribute::kBinaryValue) {
      return Invalid(field + ".binary_value", "required for type Binary");
    }
  } else {
    return Invalid(field + ".data_type",
                   absl::StrCat("'", type,
                                "' is not String, Number or Binary (with an "
                                "optional .suffix)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateId(std::string_view field, std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) {
    return Invalid(field, "must have 1 to 128 characters");
  }
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) {
      return Invalid(field,
                     "may hold only alphanumerics and punctuation (ASCII)");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAttributeName(std::string_view field,
                                   std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return Invalid(field, "must have 1 to 256 characters");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return Invalid(field, absl::StrCat("'", AbslView(name),
                                         "' may hold only A-Z a-z 0-9 _ - ."));
    }
  }
  if (name.front() == '.' || name.back() == '.' ||
      absl::StrContains(AbslView(name), "..")) {
    return Invalid(field, absl::StrCat("'", AbslView(name),
                                       "' must not start or end with '.' or "
                                       "hold '..'"));
  }
  if (absl::StartsWithIgnoreCase(AbslView(name), "AWS.") ||
      absl::StartsWithIgnoreCase(AbslView(name), "Amazon.")) {
    return Invalid(
        field, absl::StrCat("'", AbslView(name), "' uses a reserved prefix"));
  }
  return absl::OkStatus();
}

size_t MessageSize(const internal::SendEntry& entry) {
  size_t size = entry.body().size();
  for (const auto& a : entry.attributes()) {
    size += a.name().size() + a.data_type().size() + a.string_value().size() +
            a.binary_value().size();
  }
  return size;
}

absl::Status ValidateSendEntry(const internal::SendEntry& entry,
                               const internal::QueueAttributes& attrs,
                               int index) {
  const std::string f = absl::StrFormat("entries[%d]", index);
  if (entry.body().empty()) return Invalid(f + ".body", "must not be empty");
  if (entry.attributes_size() > kMaxAttributes) {
    return Invalid(f + ".attributes",
                   absl::StrFormat("%d attributes, at most %d",
                                   entry.attributes_size(), kMaxAttributes));
  }
  absl::flat_hash_set<std::string_view> names;
  for (int i = 0; i < entry.attributes_size(); ++i) {
    const std::string af = absl::StrFormat("%s.attributes[%d]", f, i);
    if (absl::Status s = ValidateAttribute(af, entry.attributes(i)); !s.ok()) {
      return s;
    }
    if (!names.insert(entry.attributes(i).name()).second) {
      return Invalid(af + ".name", absl::StrCat("'", entry.attributes(i).name(),
                                                "' appears twice"));
    }
  }
  const size_t size = MessageSize(entry);
  if (size > attrs.max_message_size()) {
    return Invalid(f + ".body",
                   absl::StrFormat("message of %d bytes (body and attributes) "
                                   "exceeds max_message_size %d",
                                   size, attrs.max_message_size()));
  }
  if (attrs.fifo()) {
    if (entry.group_id().empty()) {
      return Invalid(f + ".group_id", "required on a FIFO queue");
    }
    if (absl::Status s = ValidateId(f + ".group_id", entry.group_id());
        !s.ok()) {
      return s;
    }
    if (entry.dedup_id().empty() && !attrs.content_based_dedup()) {
      return Invalid(f + ".dedup_id",
                     "required on a FIFO queue without content-based "
                     "deduplication");
    }
    if (!entry.dedup_id().empty()) {
      if (absl::Status s = ValidateId(f + ".dedup_id", entry.dedup_id());
          !s.ok()) {
        return s;
      }
    }
    if (entry.has_delay_micros()) {
      return Invalid(f + ".delay",
                     "FIFO queues take only the queue's delay, not one per "
                     "message");
    }
  } else {
    if (!entry.dedup_id().empty()) {
      if (absl::Status s = ValidateId(f + ".dedup_id", entry.dedup_id());
          !s.ok()) {
        return s;
      }
    }
    if (!entry.group_id().empty()) {
      if (absl::Status s = ValidateId(f + ".group_id", entry.group_id());
          !s.ok()) {
        return s;
      }
    }
    if (entry.has_delay_micros()) {
      const absl::Duration d = absl::Microseconds(entry.delay_micros());
      const absl::Duration max = absl::Microseconds(attrs.retention_micros());
      if (d < absl::ZeroDuration() || d > max) {
        return Invalid(f + ".delay",
                       absl::StrFormat("%s is outside [0, retention %s]",
                                       absl::FormatDuration(d),
                                       absl::FormatDuration(max)));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateVisibilityTimeout(std::string_view field,
                                       absl::Duration timeout) {
  if (timeout < absl::ZeroDuration() || timeout > kMaxVisibilityTimeout) {
    return Invalid(field, absl::StrFormat("%s is outside [0, 12h]",
                                          absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

}  // namespace sluice::broker
