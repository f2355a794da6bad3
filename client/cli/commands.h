// The sluice CLI's commands. Each reads its words and flags from `args`,
// talks to the cluster through the C++ client library, and prints to `out`
// (a table or text, or JSON with --json). Errors come back as statuses;
// sluice_main.cc turns them into messages and exit codes.
#ifndef SLUICE_CLIENT_CLI_COMMANDS_H_
#define SLUICE_CLIENT_CLI_COMMANDS_H_

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/cli/cli_args.h"
#include "sluice/client/client.h"

namespace sluice::cli {

struct Context {
  const Args& args;
  client::Client& client;
  std::ostream& out;
  std::istream& in;
  bool json = false;
  std::optional<absl::Duration> timeout;
};

// Returns the exit code for partial failures, else 0; errors as statuses.
using Command = absl::StatusOr<int> (*)(Context&);

absl::StatusOr<int> RunQueue(
    Context& c);  // queue create|list|get|update|delete|purge
absl::StatusOr<int> RunSend(Context& c);     // send QUEUE [BODY]
absl::StatusOr<int> RunReceive(Context& c);  // receive QUEUE
absl::StatusOr<int> RunAck(Context& c);      // ack QUEUE HANDLE...
absl::StatusOr<int> RunPeek(Context& c);     // peek QUEUE
absl::StatusOr<int> RunStats(Context& c);    // stats QUEUE
absl::StatusOr<int> RunRedrive(Context& c);  // redrive start|list|cancel
absl::StatusOr<int> RunCluster(Context& c);  // cluster status

// Builds QueueAttributes from the queue flags (--visibility-timeout, ...);
// `mask` gets the path of every attribute given (for update).
absl::StatusOr<v1::QueueAttributes> AttributesFromFlags(
    const Args& args, std::vector<std::string>* mask);
// The flags AttributesFromFlags reads.
const std::set<std::string>& AttributeFlags();

}  // namespace sluice::cli

#endif  // SLUICE_CLIENT_CLI_COMMANDS_H_
