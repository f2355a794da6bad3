#include "client/cli/cli_args.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice::cli {
namespace {

// Flags that take no value.
const std::set<std::string>& BooleanFlags() {
  static const auto* flags = new std::set<std::string>{
      "json",      "help",         "fifo",          "ack",
      "force",     "stdin",        "content-dedup", "by-partition",
      "omit-body", "delete-after", "no-dlq"};
  return *flags;
}

}  // namespace

absl::StatusOr<Args> Args::Parse(const std::vector<std::string>& argv) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      for (++i; i < argv.size(); ++i) args.positional_.push_back(argv[i]);
      break;
    }
    if (!absl::StartsWith(a, "--") || a.size() == 2) {
      args.positional_.push_back(a);
      continue;
    }
    const size_t eq = a.find('=');
    std::string name =
        a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (eq != std::string::npos) {
      args.flags_.emplace(name, a.substr(eq + 1));
    } else if (BooleanFlags().count(name) > 0) {
      args.flags_.emplace(name, "true");
    } else if (i + 1 < argv.size()) {
      args.flags_.emplace(name, argv[++i]);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " needs a value (--", name, "=VALUE)"));
    }
  }
  return args;
}

absl::StatusOr<std::string> Args::Word(size_t i,
                                       const std::string& what) const {
  if (i >= positional_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("missing ", what));
  }
  return positional_[i];
}

bool Args::Bool(const std::string& flag) const {
  auto it = flags_.find(flag);
  return it != flags_.end() && it->second != "false" && it->second != "0";
}

std::string Args::String(const std::string& flag,
                         const std::string& fallback) const {
  auto it = flags_.find(flag);
  return it == flags_.end() ? fallback : it->second;
}

std::vector<std::string> Args::All(const std::string& flag) const {
  std::vector<std::string> out;
  auto [begin, end] = flags_.equal_range(flag);
  for (auto it = begin; it != end; ++it) out.push_back(it->second);
  return out;
}

absl::StatusOr<int64_t> Args::Int(const std::string& flag, int64_t fallback,
                                  int64_t min, int64_t max) const {
  if (!Has(flag)) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(String(flag), &value) || value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": want a whole number from ", min, " to ",
                     max, ", got '", String(flag), "'"));
  }
  return value;
}

absl::StatusOr<absl::Duration> Args::Duration(const std::string& flag,
                                              absl::Duration fallback) const {
  if (!Has(flag)) return fallback;
  absl::StatusOr<absl::Duration> d = ParseDuration(String(flag));
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", d.status().message()));
  }
  return d;
}

absl::StatusOr<std::map<std::string, std::string>> Args::Pairs(
    const std::string& flag) const {
  std::map<std::string, std::string> out;
  for (const std::string& item : All(flag)) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": want KEY=VALUE, got '", item, "'"));
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

absl::Status Args::Check(const std::set<std::string>& allowed,
                         size_t max_words) const {
  for (const auto& [name, value] : flags_) {
    if (allowed.count(name) == 0 && GlobalFlags().count(name) == 0) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown flag --", name,
          names.empty() ? " (this command takes none)"
                        : absl::StrCat(" (this command takes --",
                                       absl::StrJoin(names, ", --"), ")")));
    }
  }
  if (positional_.size() > max_words) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", positional_[max_words], "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ParseDuration(const std::string& text) {
  absl::Duration d;
  if (text == "0") return absl::ZeroDuration();
  if (absl::EndsWith(text, "d")) {
    double days = 0;
    if (absl::SimpleAtod(text.substr(0, text.size() - 1), &days) && days >= 0) {
      return absl::Hours(24) * days;
    }
  } else if (absl::ParseDuration(text, &d) && d >= absl::ZeroDuration()) {
    return d;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", text, "' is not a duration (examples: 500ms, 30s, 5m, 2h, 4d)"));
}

}  // namespace sluice::cli
