// Credentials for a cluster that runs with TLS and authentication
// (docs/security.md): put the result in ClientOptions::credentials.
//
//   sluice::client::SecuritySettings s;
//   s.ca_file = "certs/ca.pem";            // the nodes' CA
//   s.token = std::getenv("SLUICE_TOKEN");  // or a client certificate:
//   // s.cert_file = "certs/client-alice.pem"; s.key_file = "...key";
//   options.credentials = *sluice::client::MakeCredentials(s);
#ifndef SLUICE_CLIENT_SECURITY_H_
#define SLUICE_CLIENT_SECURITY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"

namespace sluice::client {

struct SecuritySettings {
  // PEM bundle of the CA the nodes' certificates chain to. Required.
  std::string ca_file;
  // A client certificate and its key (PEM), whose common name is this
  // client's principal. Optional; both or neither.
  std::string cert_file;
  std::string key_file;
  // A bearer token, sent as "authorization: Bearer <token>" on every call.
  // Optional; wins over the certificate for identity when both are set.
  std::string token;
};

// TLS channel credentials (plus the token as call credentials).
// INVALID_ARGUMENT naming the setting when a file is missing or unreadable,
// or only one of cert_file and key_file is set.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const SecuritySettings& settings);

}  // namespace sluice::client

#endif  // SLUICE_CLIENT_SECURITY_H_
