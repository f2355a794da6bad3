// Exit codes of the sluice CLI and error messages that say what to do.
//
//   0  success
//   1  the cluster refused or failed the request (the message says why)
//   2  bad command line (usage)
//   3  not found (queue, redrive task)
//   4  the cluster could not be reached or did not answer in time
//   5  partial failure: some entries of a batch failed (send, receive --ack)
#ifndef SLUICE_CLIENT_CLI_CLI_ERRORS_H_
#define SLUICE_CLIENT_CLI_CLI_ERRORS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace sluice::cli {

enum ExitCode {
  kExitOk = 0,
  kExitFailed = 1,
  kExitUsage = 2,
  kExitNotFound = 3,
  kExitUnreachable = 4,
  kExitPartial = 5,
};

int ExitCodeFor(const absl::Status& status);

// "error: <what happened>" plus a hint line where one helps.
std::string Explain(const absl::Status& status,
                    const std::vector<std::string>& addresses);

}  // namespace sluice::cli

#endif  // SLUICE_CLIENT_CLI_CLI_ERRORS_H_
