#include "broker/transport/tls_credentials.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/file.h"
#include "broker/auth/auth_config.h"

namespace sluice::broker {
namespace {

absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path,
                                    absl::string_view must_contain) {
  if (path.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--", flag,
        ": missing (TLS needs --tls-cert, --tls-key and --tls-ca)"));
  }
  std::optional<std::string> text = ReadWholeFile(path);
  if (!text.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--", flag, ": cannot read '", path, "'"));
  }
  if (!absl::StrContains(*text, must_contain)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--", flag, ": '", path, "' holds no PEM '", must_contain, "' block"));
  }
  return *std::move(text);
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTls(const TlsFiles& files) {
  TlsMaterial m;
  auto cert = ReadPem("tls-cert", files.cert, "BEGIN CERTIFICATE");
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("tls-key", files.key, "PRIVATE KEY");
  if (!key.ok()) return key.status();
  auto ca = ReadPem("tls-ca", files.ca, "BEGIN CERTIFICATE");
  if (!ca.ok()) return ca.status();
  return TlsMaterial{std::move(*cert), std::move(*key), std::move(*ca)};
}

std::string NodePrincipal(raft::NodeId node) {
  return absl::StrCat(auth::kNodePrincipalPrefix, node.value());
}

std::optional<raft::NodeId> NodeOfPrincipal(absl::string_view principal) {
  if (!absl::ConsumePrefix(&principal, auth::kNodePrincipalPrefix)) {
    return std::nullopt;
  }
  uint64_t id = 0;
  if (!absl::SimpleAtoi(principal, &id) || id == 0) return std::nullopt;
  return raft::NodeId(id);
}

std::shared_ptr<grpc::ServerCredentials> NodeServerCredentials(
    const std::optional<TlsMaterial>& tls) {
  if (!tls.has_value()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls->ca;
  options.pem_key_cert_pairs.push_back({tls->private_key, tls->cert_chain});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::Channel> PeerDialer::Dial(
    raft::NodeId peer, const std::string& address,
    grpc::ChannelArguments args) const {
  if (!tls_.has_value()) {
    return grpc::CreateCustomChannel(address,
                                     grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls_->ca;
  options.pem_private_key = tls_->private_key;
  options.pem_cert_chain = tls_->cert_chain;
  // Whatever the address, the peer must prove it is node `peer`.
  args.SetSslTargetNameOverride(NodePrincipal(peer));
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options),
                                   args);
}

std::string VerifiedPeerName(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return "";
  std::vector<grpc::string_ref> names =
      auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  if (names.size() != 1) return "";
  return std::string(names[0].data(), names[0].size());
}

}  // namespace sluice::broker
