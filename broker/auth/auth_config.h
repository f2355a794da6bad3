// The auth config file (sluiced --auth-config=FILE): bearer tokens by their
// SHA-256, and grants. One statement per line, '#' starts a comment:
//
//   token PRINCIPAL SHA256-HEX
//       A bearer token of PRINCIPAL, given by the hex SHA-256 of the token
//       (`printf %s "$TOKEN" | sha256sum`), so the file never holds a
//       token. A principal may have several (to rotate them).
//   grant PRINCIPAL PERMISSION[,PERMISSION...] QUEUE-PATTERN
//       PRINCIPAL is a token's principal, a client certificate's common
//       name, or * for anyone authenticated. PERMISSION is one of send,
//       receive, delete, manage, admin. QUEUE-PATTERN is a queue name in
//       which * matches any run of characters ("orders-*", "*").
//
// Example:
//   token billing-api
//   9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 grant
//   billing-api send orders-* grant worker receive,delete orders-* grant ops
//   admin *
#ifndef SLUICE_BROKER_AUTH_AUTH_CONFIG_H_
#define SLUICE_BROKER_AUTH_AUTH_CONFIG_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/auth/access_policy.h"

namespace sluice::auth {

// Names reserved for the cluster's own nodes (their certificates' common
// names are "sluice-node-<id>"); no token or grant may use them.
inline constexpr absl::string_view kNodePrincipalPrefix = "sluice-node-";

// Parses the file's text. INVALID_ARGUMENT naming the line and what is
// wrong with it; token hashes never appear in errors.
absl::StatusOr<AccessPolicy> ParseAuthConfig(absl::string_view text);

}  // namespace sluice::auth

#endif  // SLUICE_BROKER_AUTH_AUTH_CONFIG_H_
