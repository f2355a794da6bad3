#include "client/cli/cli_errors.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sluice/client/errors.h"

namespace sluice::cli {

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnreachable;
    default:
      return kExitFailed;
  }
}

std::string Explain(const absl::Status& status,
                    const std::vector<std::string>& addresses) {
  std::string out =
      absl::StrCat("error: ", absl::StatusCodeToString(status.code()), ": ",
                   status.message(), "\n");
  const std::string reason = client::ErrorReason(status);
  if (!reason.empty()) absl::StrAppend(&out, "reason: ", reason, "\n");
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      absl::StrAppend(&out, "hint: no node at ", absl::StrJoin(addresses, ","),
                      " answered in time. Is the cluster running "
                      "(scripts/cluster status)? Point at it with "
                      "--addresses=HOST:PORT,... or SLUICE_ADDRESSES. If it "
                      "runs with TLS, pass its CA: --tls-ca or "
                      "SLUICE_TLS_CA.\n");
      break;
    case absl::StatusCode::kNotFound:
      if (reason == "QUEUE_NOT_FOUND" || reason.empty()) {
        absl::StrAppend(&out,
                        "hint: `sluice queue list` shows the queues; "
                        "`sluice queue create NAME` makes one.\n");
      }
      break;
    case absl::StatusCode::kAlreadyExists:
      absl::StrAppend(&out,
                      "hint: `sluice queue get NAME` shows the existing "
                      "queue; `sluice queue update` changes it.\n");
      break;
    case absl::StatusCode::kUnauthenticated:
      absl::StrAppend(&out,
                      "hint: the cluster wants credentials: a token "
                      "($SLUICE_TOKEN or --token-file) or a client "
                      "certificate (--tls-cert/--tls-key), over TLS "
                      "(--tls-ca).\n");
      break;
    case absl::StatusCode::kPermissionDenied:
      absl::StrAppend(&out,
                      "hint: your principal lacks this permission; an "
                      "admin grants it in the nodes' --auth-config file.\n");
      break;
    case absl::StatusCode::kResourceExhausted:
      absl::StrAppend(&out,
                      "hint: the queue or node is full or throttled; "
                      "retry later or raise max_backlog_* with "
                      "`sluice queue update`.\n");
      break;
    default:
      break;
  }
  return out;
}

}  // namespace sluice::cli
