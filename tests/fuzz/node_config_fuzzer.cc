// Fuzzes the node's configuration parsers (broker/node/node_config.h): the
// config file's text (ApplyConfigFile, then ValidateNodeConfig) and the
// command line (ParseNodeConfig on arguments split at newlines; --config is
// left out, the file parser is fuzzed directly).
//
// Input: [mode:1] then the file's text (mode even) or the arguments, one a
// line (mode odd).
// Properties: no crash; every error is INVALID_ARGUMENT; a file that parses
// and validates, written back out as a file (the settings this target
// knows), parses to the same settings.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/node/node_config.h"
#include "tests/fuzz/fuzz_util.h"

namespace sluice::fuzz {
namespace {

using sluice::node::NodeConfig;

std::string Render(const NodeConfig& c) {
  std::vector<std::string> peers;
  for (const auto& [id, address] : c.peers) {
    peers.push_back(absl::StrCat(id, "=", address));
  }
  std::string text = absl::StrCat("node-id = ", c.node_id, "\n");
  absl::StrAppend(&text, "listen = ", c.listen, "\n");
  if (!c.advertise.empty()) {
    absl::StrAppend(&text, "advertise = ", c.advertise, "\n");
  }
  absl::StrAppend(&text, "peers = ", absl::StrJoin(peers, ","), "\n");
  absl::StrAppend(&text, "data-dir = ", c.data_dir, "\n");
  if (!c.metrics_listen.empty()) {
    absl::StrAppend(&text, "metrics-listen = ", c.metrics_listen, "\n");
  }
  absl::StrAppend(&text, "cluster-name = ", c.cluster_name, "\n");
  absl::StrAppend(
      &text, "tick-ms = ", absl::ToInt64Milliseconds(c.tick_interval), "\n");
  absl::StrAppend(&text, "quiesce = ", c.quiesce ? "true" : "false", "\n");
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string&>{"tls-cert", c.tls_cert},
        {"tls-key", c.tls_key},
        {"tls-ca", c.tls_ca},
        {"auth-config", c.auth_config}}) {
    if (!value.empty()) absl::StrAppend(&text, name, " = ", value, "\n");
  }
  absl::StrAppend(&text,
                  "max-streams-per-connection = ", c.max_streams_per_connection,
                  "\n");
  absl::StrAppend(&text, "max-queues = ", c.max_queues, "\n");
  return text;
}

bool SameSettings(const NodeConfig& a, const NodeConfig& b) {
  return a.node_id == b.node_id && a.listen == b.listen &&
         a.advertise == b.advertise && a.peers == b.peers &&
         a.data_dir == b.data_dir && a.metrics_listen == b.metrics_listen &&
         a.cluster_name == b.cluster_name &&
         a.tick_interval == b.tick_interval && a.quiesce == b.quiesce &&
         a.tls_cert == b.tls_cert && a.tls_key == b.tls_key &&
         a.tls_ca == b.tls_ca && a.auth_config == b.auth_config &&
         a.max_streams_per_connection == b.max_streams_per_connection &&
         a.max_queues == b.max_queues;
}

}  // namespace

std::vector<Seed> Seeds() {
  const std::string file =
      "# node 1 of a local cluster\n"
      "node-id = 1\n"
      "listen = 127.0.0.1:7101\n"
      "peers = 1=127.0.0.1:7101, 2=127.0.0.1:7102,3=[::1]:7103\n"
      "data-dir = /var/lib/sluice\n"
      "metrics-listen = :9101   # all interfaces\n"
      "cluster-name = prod\n"
      "tick-ms = 50\n"
      "quiesce = false\n";
  const std::string args =
      "--node-id=2\n--listen=0.0.0.0:7102\n--advertise=10.0.0.2:7102\n"
      "--peers=1=10.0.0.1:7102,2=10.0.0.2:7102\n--data-dir=d\n";
  const std::string secure =
      file +
      "tls-cert = certs/node-1.pem\ntls-key = certs/node-1.key\n"
      "tls-ca = certs/ca.pem\nauth-config = auth.conf\n"
      "max-streams-per-connection = 64\nmax-queues = 500\n";
  return {{"seed-file", std::string(1, 0) + file},
          {"seed-secure-file", std::string(1, 0) + secure},
          {"seed-args", std::string(1, 1) + args},
          {"seed-bad-file", std::string(1, 0) + "node-id = 0\npeers=1\n"}};
}

}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::fuzz;  // NOLINT(google-build-using-namespace)
  using sluice::node::NodeConfig;
  ByteReader in(data, size);
  const bool args_mode = in.U8() % 2 == 1;
  const absl::string_view text = Absl(in.Rest());
  if (args_mode) {
    std::vector<std::string> args;
    for (absl::string_view arg : absl::StrSplit(text, '\n')) {
      if (absl::StartsWith(arg, "--config")) continue;  // reads a file
      args.emplace_back(arg);
    }
    absl::StatusOr<NodeConfig> config = sluice::node::ParseNodeConfig(args);
    if (!config.ok()) {
      FUZZ_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument)
          << config.status();
    }
    return 0;
  }
  NodeConfig config;
  absl::Status s = sluice::node::ApplyConfigFile(text, config);
  if (s.ok()) s = sluice::node::ValidateNodeConfig(config);
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument) << s;
    return 0;
  }
  NodeConfig again;
  const std::string rendered = Render(config);
  absl::Status r = sluice::node::ApplyConfigFile(rendered, again);
  FUZZ_CHECK(r.ok()) << r << "\n" << rendered;
  FUZZ_CHECK(SameSettings(config, again)) << "written back differently:\n"
                                          << rendered;
  return 0;
}
