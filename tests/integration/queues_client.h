// A thin synchronous client of the public Queues service for the
// integration tests: one call per method, with the status, its trailing
// metadata and a deadline.
#ifndef SLUICE_TESTS_INTEGRATION_QUEUES_CLIENT_H_
#define SLUICE_TESTS_INTEGRATION_QUEUES_CLIENT_H_

#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "sluice/v1/queues.grpc.pb.h"

namespace sluice::testing {

struct CallResult {
  grpc::Status status;
  std::multimap<std::string, std::string> trailers;
  std::string Trailer(const std::string& key) const {
    auto it = trailers.find(key);
    return it == trailers.end() ? "" : it->second;
  }
  bool ok() const { return status.ok(); }
};

class QueuesClient {
 public:
  explicit QueuesClient(const std::string& address,
                        absl::Duration timeout = absl::Seconds(30))
      : stub_(v1::Queues::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))),
        timeout_(timeout) {}

  // Calls `method` of the stub (e.g. &v1::Queues::Stub::Send).
  template <typename Request, typename Response, typename Method>
  CallResult Call(Method method, const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    CallResult result;
    result.status = ((*stub_).*method)(&context, request, response);
    for (const auto& [k, v] : context.GetServerTrailingMetadata()) {
      result.trailers.emplace(std::string(k.data(), k.size()),
                              std::string(v.data(), v.size()));
    }
    return result;
  }

  v1::Queues::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<v1::Queues::Stub> stub_;
  absl::Duration timeout_;
};

}  // namespace sluice::testing

#endif  // SLUICE_TESTS_INTEGRATION_QUEUES_CLIENT_H_
