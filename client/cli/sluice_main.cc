// sluice: the command-line tool for a Sluice cluster. `sluice help`.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/cli/cli_args.h"
#include "client/cli/cli_errors.h"
#include "client/cli/commands.h"
#include "sluice/client/security.h"

namespace sluice::cli {
namespace {

constexpr char kUsage[] = R"(sluice: talk to a Sluice cluster.

usage: sluice [--addresses=HOST:PORT,...] [--json] [--timeout=30s]
              [--tls-ca=FILE [--tls-cert=FILE --tls-key=FILE]
               [--token-file=FILE]] COMMAND ...

queues
  queue create NAME [--fifo] [--partitions=N] [--replication=N]
               [--visibility-timeout=30s] [--delay=0s] [--retention=4d]
               [--receive-wait=0s] [--max-message-size=BYTES] [--content-dedup]
               [--dedup-window=5m] [--dlq=QUEUE --max-receives=N]
               [--retry-initial=1s --retry-max=5m]
               [--max-backlog-messages=N] [--max-backlog-bytes=N] [--tag K=V ...]
  queue list [--prefix=P]
  queue get NAME                      attributes and partition leaders
  queue update NAME [attribute flags as create] [--no-dlq] [--tag K=V ...]
  queue delete NAME [--force]         --force: even if it is another queue's DLQ
  queue purge NAME                    delete every message

messages
  send QUEUE BODY | --file=PATH | --stdin   (--stdin: one message per line)
       [--group=G] [--dedup=ID] [--delay=5s] [--attr K=V ...]
  receive QUEUE [--max=N] [--wait=20s] [--visibility-timeout=30s] [--ack]
  ack QUEUE RECEIPT_HANDLE...         delete received messages
  peek QUEUE [--limit=10] [--partition=P] [--omit-body]   browse, no lease
  stats QUEUE [--by-partition] [--groups=N]

dead letters
  redrive start DLQ [--to=QUEUE] [--rate=N]   move messages back (default: to
                                              the queues they came from)
  redrive list [QUEUE]
  redrive cancel TASK_ID

cluster
  cluster status [--queue=NAME]      nodes, partitions, leaders, replication lag

--addresses defaults to $SLUICE_ADDRESSES, else 127.0.0.1:7101,7102,7103
(scripts/cluster up). --json prints the API's JSON (proto field names).

security (docs/security.md): --tls-ca turns TLS on (the nodes' CA);
--tls-cert/--tls-key present a client certificate; a bearer token comes
from --token-file or $SLUICE_TOKEN (never a flag: others could read it in
ps). $SLUICE_TLS_CA, $SLUICE_TLS_CERT and $SLUICE_TLS_KEY stand in for the
flags.

exit codes: 0 ok, 1 refused or failed, 2 bad usage, 3 not found,
            4 cluster unreachable or timed out, 5 some entries failed
)";

std::vector<std::string> Addresses(const Args& args) {
  std::string list = args.String("addresses");
  if (list.empty()) {
    const char* env = std::getenv("SLUICE_ADDRESSES");
    list = env != nullptr && *env != '\0'
               ? env
               : "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103";
  }
  return absl::StrSplit(list, ',', absl::SkipWhitespace());
}

// The flag, else the environment variable, else "".
std::string FlagOrEnv(const Args& args, const std::string& flag,
                      const char* env) {
  if (args.Has(flag)) return args.String(flag);
  const char* value = std::getenv(env);
  return value != nullptr ? value : "";
}

// Plaintext (nullptr) unless a CA is given; a token needs TLS.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const Args& args) {
  client::SecuritySettings s;
  s.ca_file = FlagOrEnv(args, "tls-ca", "SLUICE_TLS_CA");
  s.cert_file = FlagOrEnv(args, "tls-cert", "SLUICE_TLS_CERT");
  s.key_file = FlagOrEnv(args, "tls-key", "SLUICE_TLS_KEY");
  if (args.Has("token-file")) {
    std::ifstream in(args.String("token-file"));
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--token-file: cannot read '", args.String("token-file"), "'"));
    }
    std::getline(in, s.token);
  } else if (const char* token = std::getenv("SLUICE_TOKEN")) {
    s.token = token;
  }
  s.token = std::string(absl::StripAsciiWhitespace(s.token));
  if (s.ca_file.empty()) {
    if (!s.cert_file.empty() || !s.key_file.empty() || !s.token.empty()) {
      return absl::InvalidArgumentError(
          "--tls-ca: required with a client certificate or a token (they "
          "are sent only over TLS)");
    }
    return nullptr;
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      client::MakeCredentials(s);
  if (!credentials.ok()) {
    // Name the CLI's flags, not the library's settings.
    std::string message(credentials.status().message());
    for (const auto& [from, to] :
         {std::pair<const char*, const char*>{"ca_file", "--tls-ca"},
          {"cert_file", "--tls-cert"},
          {"key_file", "--tls-key"}}) {
      for (size_t at; (at = message.find(from)) != std::string::npos;) {
        message.replace(at, std::strlen(from), to);
      }
    }
    return absl::InvalidArgumentError(message);
  }
  return credentials;
}

int Main(int argc, char** argv) {
  absl::StatusOr<Args> args =
      Args::Parse(std::vector<std::string>(argv + 1, argv + argc));
  if (!args.ok()) {
    std::cerr << "sluice: " << args.status().message() << "\n(sluice help)\n";
    return kExitUsage;
  }
  if (args->positional().empty() || args->Bool("help") ||
      args->positional()[0] == "help") {
    std::cout << kUsage;
    return args->positional().empty() && !args->Bool("help") ? kExitUsage
                                                             : kExitOk;
  }
  static const std::map<std::string, Command> kCommands = {
      {"queue", RunQueue},     {"send", RunSend},      {"receive", RunReceive},
      {"ack", RunAck},         {"peek", RunPeek},      {"stats", RunStats},
      {"redrive", RunRedrive}, {"cluster", RunCluster}};
  const std::string& name = args->positional()[0];
  auto command = kCommands.find(name);
  if (command == kCommands.end()) {
    std::cerr << "sluice: unknown command '" << name << "'\n(sluice help)\n";
    return kExitUsage;
  }
  std::optional<absl::Duration> timeout;
  if (args->Has("timeout")) {
    absl::StatusOr<absl::Duration> t =
        args->Duration("timeout", absl::Seconds(30));
    if (!t.ok() || *t <= absl::ZeroDuration()) {
      std::cerr << "sluice: --timeout: want a positive duration, e.g. 10s\n";
      return kExitUsage;
    }
    timeout = *t;
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      Credentials(*args);
  if (!credentials.ok()) {
    std::cerr << "sluice: " << credentials.status().message() << "\n";
    return kExitUsage;
  }
  client::ClientOptions options;
  options.seeds = Addresses(*args);
  options.credentials = *std::move(credentials);
  options.producer_name = "cli";
  if (timeout.has_value()) options.default_timeout = *timeout;
  absl::StatusOr<std::shared_ptr<client::Client>> client =
      client::Client::Connect(options);
  if (!client.ok()) {
    std::cerr << "sluice: --addresses: " << client.status().message() << "\n";
    return kExitUsage;
  }
  Context context{*args,    **client,           std::cout,
                  std::cin, args->Bool("json"), timeout};
  absl::StatusOr<int> result = command->second(context);
  if (result.ok()) return *result;
  // Bad input found before anything was sent is a usage error.
  const absl::Status& status = result.status();
  if (status.code() == absl::StatusCode::kInvalidArgument &&
      !client::FromServer(status)) {
    std::cerr << "sluice " << name << ": " << status.message()
              << "\n(sluice help)\n";
    return kExitUsage;
  }
  std::cerr << Explain(status, options.seeds);
  return ExitCodeFor(status);
}

}  // namespace
}  // namespace sluice::cli

int main(int argc, char** argv) { return sluice::cli::Main(argc, argv); }
