// TLS for a node (sluiced --tls-cert/--tls-key/--tls-ca): one certificate
// serves both clients and peers on the node's port, and the same pair is
// the node's client certificate when it dials its peers (mutual TLS).
//
// A node's certificate has the common name "sluice-node-<id>" and that
// name among its DNS subject alternative names, next to the host names and
// IPs clients dial. A node dials peer N expecting exactly
// "sluice-node-N" (gRPC's target-name override), and accepts Raft traffic
// only from callers whose verified certificate names the node id they
// claim (raft_transport_service.cc). Client certificates are requested and
// verified against the CA, but not required: clients may use bearer tokens.
#ifndef SLUICE_BROKER_TRANSPORT_TLS_CREDENTIALS_H_
#define SLUICE_BROKER_TRANSPORT_TLS_CREDENTIALS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "raft/types.h"

namespace sluice::broker {

struct TlsFiles {
  std::string cert;  // PEM certificate chain
  std::string key;   // PEM private key
  std::string ca;    // PEM CA bundle (old and new CA while rotating a CA)
  bool enabled() const { return !cert.empty() || !key.empty() || !ca.empty(); }
};

struct TlsMaterial {
  std::string cert_chain;
  std::string private_key;
  std::string ca;
};

// Reads the three files. FAILED_PRECONDITION naming the flag when one is
// missing, unreadable, or holds no PEM block of the right kind.
absl::StatusOr<TlsMaterial> LoadTls(const TlsFiles& files);

// "sluice-node-<id>": the identity in node certificates.
std::string NodePrincipal(raft::NodeId node);
// The node id a principal names, if it is a node's ("sluice-node-7" -> 7).
std::optional<raft::NodeId> NodeOfPrincipal(absl::string_view principal);

// Insecure without material.
std::shared_ptr<grpc::ServerCredentials> NodeServerCredentials(
    const std::optional<TlsMaterial>& tls);

// How a node opens channels to its peers: plain, or mutual TLS expecting
// the peer's node certificate.
class PeerDialer {
 public:
  explicit PeerDialer(std::optional<TlsMaterial> tls = std::nullopt)
      : tls_(std::move(tls)) {}

  std::shared_ptr<grpc::Channel> Dial(raft::NodeId peer,
                                      const std::string& address,
                                      grpc::ChannelArguments args) const;
  bool secure() const { return tls_.has_value(); }

 private:
  std::optional<TlsMaterial> tls_;
};

// The common name of the caller's verified certificate; empty when the call
// came without one (plaintext, or TLS without a client certificate).
std::string VerifiedPeerName(const grpc::ServerContextBase& context);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_TRANSPORT_TLS_CREDENTIALS_H_
