// Turning gRPC results into the library's absl::Status values (see
// sluice/client/errors.h) and reading the server's leader hints.
#ifndef SLUICE_CLIENT_CPP_SRC_RPC_STATUS_H_
#define SLUICE_CLIENT_CPP_SRC_RPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "sluice/v1/types.pb.h"

namespace sluice::client::internal {

// The RPC's status with the trailing metadata's reason, field, retry-after
// and leader hint attached as payloads. `context` may be null.
absl::Status FromGrpc(const grpc::Status& status,
                      const grpc::ClientContext* context);

// One entry's status (SendResult.status, ReceiptResult.status, ...).
absl::Status FromEntryStatus(const v1::EntryStatus& status);

// The `sluice-leader` trailer ("host:port"), also present on successful
// answers that were forwarded; empty if none.
std::string LeaderHint(const grpc::ClientContext& context);

// The leader hint stored in a status by FromGrpc / FromEntryStatus.
std::string LeaderHint(const absl::Status& status);

}  // namespace sluice::client::internal

#endif  // SLUICE_CLIENT_CPP_SRC_RPC_STATUS_H_
