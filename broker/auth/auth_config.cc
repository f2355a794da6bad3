#include "broker/auth/auth_config.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sluice::auth {
namespace {

constexpr size_t kMaxNameLength = 256;

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("auth config line ", line, ": ", what));
}

// Printable ASCII without spaces: what a certificate CN or a name in a
// config file can sensibly be.
bool IsPlainName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

absl::Status CheckPrincipal(int line, absl::string_view principal,
                            bool wildcard_ok) {
  if (wildcard_ok && principal == "*") return absl::OkStatus();
  if (!IsPlainName(principal) || absl::StrContains(principal, '*')) {
    return LineError(line, absl::StrCat("principal '", principal,
                                        "' is not a plain name (printable, no "
                                        "spaces, no '*', at most ",
                                        kMaxNameLength, " characters)"));
  }
  if (absl::StartsWith(principal, kNodePrincipalPrefix)) {
    return LineError(
        line,
        absl::StrCat("principal '", principal, "': names starting with '",
                     kNodePrincipalPrefix, "' belong to the cluster's nodes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PermissionSet> ParsePermissions(int line,
                                               absl::string_view list) {
  PermissionSet set = 0;
  for (absl::string_view name : absl::StrSplit(list, ',')) {
    std::optional<Permission> p = PermissionFromName(name);
    if (!p.has_value()) {
      return LineError(
          line, absl::StrCat("unknown permission '", name,
                             "' (want send, receive, delete, manage, admin)"));
    }
    set |= Bit(*p);
  }
  return set;
}

bool IsHexDigest(absl::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<AccessPolicy> ParseAuthConfig(absl::string_view text) {
  std::map<std::string, std::string> token_hashes;  // hash -> principal
  std::vector<Grant> grants;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    if (words[0] == "token") {
      if (words.size() != 3) {
        return LineError(line_number, "want: token PRINCIPAL SHA256-HEX");
      }
      if (absl::Status s = CheckPrincipal(line_number, words[1], false);
          !s.ok()) {
        return s;
      }
      if (!IsHexDigest(words[2])) {
        return LineError(line_number,
                         "the token's hash must be 64 hex digits (its "
                         "SHA-256: printf %s \"$TOKEN\" | sha256sum)");
      }
      std::string digest = absl::AsciiStrToLower(words[2]);
      auto [it, added] = token_hashes.emplace(digest, std::string(words[1]));
      if (!added) {
        return LineError(line_number,
                         absl::StrCat("the same token is already given to '",
                                      it->second, "'"));
      }
    } else if (words[0] == "grant") {
      if (words.size() != 4) {
        return LineError(
            line_number,
            "want: grant PRINCIPAL PERMISSION[,PERMISSION...] QUEUE-PATTERN");
      }
      if (absl::Status s = CheckPrincipal(line_number, words[1], true);
          !s.ok()) {
        return s;
      }
      absl::StatusOr<PermissionSet> permissions =
          ParsePermissions(line_number, words[2]);
      if (!permissions.ok()) return permissions.status();
      if (!IsPlainName(words[3])) {
        return LineError(line_number,
                         absl::StrCat("queue pattern '", words[3],
                                      "' is not a plain name or pattern"));
      }
      grants.push_back(
          {std::string(words[1]), *permissions, std::string(words[3])});
    } else {
      return LineError(line_number,
                       absl::StrCat("unknown statement '", words[0],
                                    "' (want token or grant)"));
    }
  }
  return AccessPolicy(std::move(token_hashes), std::move(grants));
}

}  // namespace sluice::auth
