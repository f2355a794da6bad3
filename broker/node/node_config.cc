#include "broker/node/node_config.h"

#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/file.h"

namespace sluice::node {
namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", what));
}

absl::Status ParsePeers(absl::string_view value, NodeConfig& config) {
  config.peers.clear();
  for (absl::string_view item :
       absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    std::vector<absl::string_view> parts =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[1].empty()) {
      return FlagError("peers",
                       absl::StrCat("entry '", item,
                                    "' has no address (want ID=HOST:PORT)"));
    }
    uint64_t id = 0;
    if (!absl::SimpleAtoi(parts[0], &id) || id == 0) {
      return FlagError(
          "peers",
          absl::StrCat("entry '", item, "': node id must be a number >= 1"));
    }
    if (absl::Status s = ValidateAddress("peers", parts[1]); !s.ok()) return s;
    if (!config.peers.emplace(id, std::string(parts[1])).second) {
      return FlagError("peers", absl::StrCat("node id ", id, " appears twice"));
    }
  }
  if (config.peers.empty()) return FlagError("peers", "empty list");
  return absl::OkStatus();
}

// Sets one named setting; `source` says where it came from, for errors.
absl::Status Set(absl::string_view name, absl::string_view value,
                 NodeConfig& config) {
  if (name == "node-id") {
    if (!absl::SimpleAtoi(value, &config.node_id) || config.node_id == 0) {
      return FlagError(name,
                       absl::StrCat("'", value, "' is not a number >= 1"));
    }
  } else if (name == "listen") {
    config.listen = std::string(value);
  } else if (name == "advertise") {
    config.advertise = std::string(value);
  } else if (name == "peers") {
    return ParsePeers(value, config);
  } else if (name == "data-dir") {
    config.data_dir = std::string(value);
  } else if (name == "metrics-listen") {
    config.metrics_listen = std::string(value);
  } else if (name == "cluster-name") {
    if (value.empty()) return FlagError(name, "must not be empty");
    config.cluster_name = std::string(value);
  } else if (name == "tick-ms") {
    int64_t ms = 0;
    if (!absl::SimpleAtoi(value, &ms) || ms < 1 || ms > 1000) {
      return FlagError(name, absl::StrCat("'", value, "' is not in 1..1000"));
    }
    config.tick_interval = absl::Milliseconds(ms);
  } else if (name == "quiesce") {
    if (value != "true" && value != "false") {
      return FlagError(name,
                       absl::StrCat("'", value, "' is not true or false"));
    }
    config.quiesce = value == "true";
  } else if (name == "tls-cert") {
    config.tls_cert = std::string(value);
  } else if (name == "tls-key") {
    config.tls_key = std::string(value);
  } else if (name == "tls-ca") {
    config.tls_ca = std::string(value);
  } else if (name == "auth-config") {
    config.auth_config = std::string(value);
  } else if (name == "max-streams-per-connection") {
    if (!absl::SimpleAtoi(value, &config.max_streams_per_connection) ||
        config.max_streams_per_connection < 1 ||
        config.max_streams_per_connection > 100000) {
      return FlagError(name, absl::StrCat("'", value, "' is not in 1..100000"));
    }
  } else if (name == "max-queues") {
    if (!absl::SimpleAtoi(value, &config.max_queues) || config.max_queues < 1 ||
        config.max_queues > 1000000) {
      return FlagError(name,
                       absl::StrCat("'", value, "' is not in 1..1000000"));
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown setting '", name,
        "' (known: node-id, listen, advertise, peers, data-dir, "
        "metrics-listen, cluster-name, tick-ms, quiesce, tls-cert, tls-key, "
        "tls-ca, auth-config, max-streams-per-connection, max-queues, "
        "config)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAddress(absl::string_view flag,
                             absl::string_view address) {
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return FlagError(
        flag, absl::StrCat("'", address, "' has no port (want HOST:PORT)"));
  }
  absl::string_view host = address.substr(0, colon);
  if (host.find(':') != absl::string_view::npos &&
      !(host.size() >= 2 && host.front() == '[' && host.back() == ']')) {
    return FlagError(
        flag, absl::StrCat("'", address, "': put an IPv6 address in brackets"));
  }
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 ||
      port > 65535) {
    return FlagError(
        flag,
        absl::StrCat("'", address, "': port must be a number in 1..65535"));
  }
  return absl::OkStatus();
}

absl::Status ApplyConfigFile(absl::string_view text, NodeConfig& config) {
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("config line ", line_number,
                       ": want 'name = value', got '", line, "'"));
    }
    absl::string_view name = absl::StripAsciiWhitespace(parts[0]);
    absl::string_view value = absl::StripAsciiWhitespace(parts[1]);
    if (absl::Status s = Set(name, value, config); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config line ", line_number, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<NodeConfig> ParseNodeConfig(
    const std::vector<std::string>& args) {
  NodeConfig config;
  std::vector<std::pair<absl::string_view, absl::string_view>> flags;
  for (const std::string& arg : args) {
    absl::string_view rest = arg;
    if (!absl::ConsumePrefix(&rest, "--")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected argument '", arg, "' (flags look like --name=value)"));
    }
    std::vector<absl::string_view> parts =
        absl::StrSplit(rest, absl::MaxSplits('=', 1));
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag '", arg, "' has no value (want --name=value)"));
    }
    if (parts[0] == "config") {
      // The file first, so that flags override it wherever they appear.
      std::optional<std::string> text = ReadWholeFile(std::string(parts[1]));
      if (!text.has_value()) {
        return FlagError("config",
                         absl::StrCat("cannot read '", parts[1], "'"));
      }
      if (absl::Status s = ApplyConfigFile(*text, config); !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(parts[1], ": ", s.message()));
      }
    } else {
      flags.emplace_back(parts[0], parts[1]);
    }
  }
  for (const auto& [name, value] : flags) {
    if (absl::Status s = Set(name, value, config); !s.ok()) return s;
  }
  if (absl::Status s = ValidateNodeConfig(config); !s.ok()) return s;
  return config;
}

absl::Status ValidateNodeConfig(const NodeConfig& config) {
  if (config.node_id == 0) return FlagError("node-id", "required");
  if (config.listen.empty()) return FlagError("listen", "required");
  if (absl::Status s = ValidateAddress("listen", config.listen); !s.ok())
    return s;
  if (!config.advertise.empty()) {
    if (absl::Status s = ValidateAddress("advertise", config.advertise);
        !s.ok()) {
      return s;
    }
  }
  if (!config.metrics_listen.empty()) {
    if (absl::Status s =
            ValidateAddress("metrics-listen", config.metrics_listen);
        !s.ok()) {
      return s;
    }
  }
  if (config.data_dir.empty()) return FlagError("data-dir", "required");
  const bool tls = config.tls_enabled();
  if (tls && (config.tls_cert.empty() || config.tls_key.empty() ||
              config.tls_ca.empty())) {
    return FlagError(config.tls_cert.empty()  ? "tls-cert"
                     : config.tls_key.empty() ? "tls-key"
                                              : "tls-ca",
                     "required with the other TLS flags (TLS needs "
                     "--tls-cert, --tls-key and --tls-ca)");
  }
  if (!config.auth_config.empty() && !tls) {
    // Bearer tokens in plaintext can be read off the wire by anyone.
    return FlagError("auth-config",
                     "needs TLS (--tls-cert, --tls-key, --tls-ca): tokens "
                     "and client certificates mean nothing without it");
  }
  if (config.peers.empty()) return FlagError("peers", "required");
  auto self = config.peers.find(config.node_id);
  if (self == config.peers.end()) {
    return FlagError("peers",
                     absl::StrCat("does not list this node (--node-id=",
                                  config.node_id, ")"));
  }
  if (self->second != config.advertised()) {
    return FlagError(
        "peers",
        absl::StrCat("lists node ", config.node_id, " at ", self->second,
                     " but it listens/advertises ", config.advertised(),
                     " (set --advertise if they differ on purpose)"));
  }
  return absl::OkStatus();
}

}  // namespace sluice::node
