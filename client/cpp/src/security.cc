#include "sluice/client/security.h"

#include "absl/strings/str_cat.h"
#include "base/file.h"

namespace sluice::client {
namespace {

absl::StatusOr<std::string> ReadFile(const char* setting,
                                     const std::string& path) {
  std::optional<std::string> text = ReadWholeFile(path);
  if (!text.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": cannot read '", path, "'"));
  }
  if (text->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": '", path, "' is empty"));
  }
  return *std::move(text);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const SecuritySettings& settings) {
  if (settings.ca_file.empty()) {
    return absl::InvalidArgumentError(
        "ca_file: required (the CA the nodes' certificates chain to)");
  }
  if (settings.cert_file.empty() != settings.key_file.empty()) {
    return absl::InvalidArgumentError(
        "cert_file and key_file: set both (a client certificate) or neither");
  }
  grpc::SslCredentialsOptions tls;
  absl::StatusOr<std::string> ca = ReadFile("ca_file", settings.ca_file);
  if (!ca.ok()) return ca.status();
  tls.pem_root_certs = *std::move(ca);
  if (!settings.cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadFile("cert_file", settings.cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile("key_file", settings.key_file);
    if (!key.ok()) return key.status();
    tls.pem_cert_chain = *std::move(cert);
    tls.pem_private_key = *std::move(key);
  }
  std::shared_ptr<grpc::ChannelCredentials> channel = grpc::SslCredentials(tls);
  if (settings.token.empty()) return channel;
  return grpc::CompositeChannelCredentials(
      channel, grpc::AccessTokenCredentials(settings.token));
}

}  // namespace sluice::client
