// The sluice CLI's command line: positional words and --flags. A flag is
// `--name=value`, `--name value`, or (for the boolean flags listed in
// kBooleanFlags) just `--name`. Every command says which flags it takes,
// so a typo is an error that names the flag, never silently ignored.
#ifndef SLUICE_CLIENT_CLI_CLI_ARGS_H_
#define SLUICE_CLIENT_CLI_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sluice::cli {

class Args {
 public:
  // argv without the program name.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& argv);

  const std::vector<std::string>& positional() const { return positional_; }
  // The i-th positional word, or an error naming `what` if missing.
  absl::StatusOr<std::string> Word(size_t i, const std::string& what) const;

  bool Has(const std::string& flag) const { return flags_.count(flag) > 0; }
  bool Bool(const std::string& flag) const;
  std::string String(const std::string& flag,
                     const std::string& fallback = "") const;
  std::vector<std::string> All(const std::string& flag) const;
  absl::StatusOr<int64_t> Int(const std::string& flag, int64_t fallback,
                              int64_t min, int64_t max) const;
  absl::StatusOr<absl::Duration> Duration(const std::string& flag,
                                          absl::Duration fallback) const;
  // `key=value` pairs of a repeated flag.
  absl::StatusOr<std::map<std::string, std::string>> Pairs(
      const std::string& flag) const;

  // An error naming the first flag not in `allowed` (the global flags are
  // always allowed), or more positional words than `max_words`.
  absl::Status Check(const std::set<std::string>& allowed,
                     size_t max_words) const;

 private:
  std::vector<std::string> positional_;
  std::multimap<std::string, std::string> flags_;
};

// "30s", "1.5h", "250ms", "7d" (days, which absl does not parse), "0".
absl::StatusOr<absl::Duration> ParseDuration(const std::string& text);

// Flags every command accepts.
inline const std::set<std::string>& GlobalFlags() {
  static const auto* flags = new std::set<std::string>{
      "addresses", "json",     "timeout", "help",
      "tls-ca",    "tls-cert", "tls-key", "token-file"};
  return *flags;
}

}  // namespace sluice::cli

#endif  // SLUICE_CLIENT_CLI_CLI_ARGS_H_
