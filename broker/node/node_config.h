// The configuration of one sluiced node: command-line flags, optionally read
// from a config file first, checked before anything starts.
//
// Flags (all `--name=value`; a config file holds the same names, one
// `name = value` per line, `#` starts a comment; flags win over the file):
//   --node-id=N          this node's id, >= 1, never reused (raft/README.md)
//   --listen=HOST:PORT   gRPC address for clients and peers
//   --advertise=HOST:PORT  address peers and clients should dial (default:
//                        --listen; needed when listening on 0.0.0.0)
//   --peers=1=HOST:PORT,2=HOST:PORT,...  the founding members, this node
//                        included (as etcd's --initial-cluster)
//   --data-dir=PATH      where this node keeps its state
//   --metrics-listen=HOST:PORT  Prometheus /metrics over HTTP (empty: off)
//   --cluster-name=NAME  guards against pointing a node at another cluster's
//                        data dir (default "sluice")
//   --tls-cert=FILE, --tls-key=FILE, --tls-ca=FILE  TLS on the node's port
//                        for clients and peers (mutual TLS between nodes);
//                        all three or none (broker/transport/tls_credentials.h)
//   --auth-config=FILE   authenticate and authorize every client call
//                        (broker/auth/auth_config.h); needs TLS
//   --max-streams-per-connection=N  concurrent calls one client connection
//                        may have open (HTTP/2 streams; default 4096)
//   --max-queues=N       queues the cluster may hold (default 10000)
//   --config=FILE        read the settings above from FILE
#ifndef SLUICE_BROKER_NODE_NODE_CONFIG_H_
#define SLUICE_BROKER_NODE_NODE_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sluice::node {

struct NodeConfig {
  uint64_t node_id = 0;
  std::string listen;
  std::string advertise;
  std::map<uint64_t, std::string> peers;  // node id -> address, self included
  std::string data_dir;
  std::string metrics_listen;
  std::string cluster_name = "sluice";
  // How often every Raft group ticks; elections take 10-20 ticks.
  absl::Duration tick_interval = absl::Milliseconds(50);
  // Idle groups stop ticking and heartbeating (raft/README.md,
  // "Quiescence"); off only to measure what it saves.
  bool quiesce = true;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  std::string auth_config;
  int max_streams_per_connection = 4096;
  uint32_t max_queues = 10000;

  bool tls_enabled() const {
    return !tls_cert.empty() || !tls_key.empty() || !tls_ca.empty();
  }

  // The address others reach this node at.
  const std::string& advertised() const {
    return advertise.empty() ? listen : advertise;
  }
};

// Parses argv-style flags (without the program name). Errors are
// INVALID_ARGUMENT and name the flag, e.g. "--peers: entry '4' has no
// address (want ID=HOST:PORT)".
absl::StatusOr<NodeConfig> ParseNodeConfig(
    const std::vector<std::string>& args);

// Parses the text of a config file into `config`, overriding what it sets.
absl::Status ApplyConfigFile(absl::string_view text, NodeConfig& config);

// Checks that the settings hang together: a node id, a listen address, a
// data dir, and this node among the peers at the address it advertises.
absl::Status ValidateNodeConfig(const NodeConfig& config);

// "host:port" with a port in 1..65535 (host may be empty, a name, IPv4, or
// an IPv6 literal in brackets).
absl::Status ValidateAddress(absl::string_view flag, absl::string_view address);

}  // namespace sluice::node

#endif  // SLUICE_BROKER_NODE_NODE_CONFIG_H_
