// A minimal HTTP/1.0 server for Prometheus scrapes: GET /metrics answers
// with the registry's text format; anything else is 404. One thread, one
// request per connection, which is what scrapers do.
#ifndef SLUICE_BROKER_NODE_METRICS_HTTP_H_
#define SLUICE_BROKER_NODE_METRICS_HTTP_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace sluice::node {

class MetricsHttpServer {
 public:
  // Listens on `address` ("host:port"; port 0 picks a free one). `render`
  // produces the body of each scrape, on the server's thread.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& address, std::function<std::string()> render);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsHttpServer(int fd, int port, std::function<std::string()> render);
  void Run();
  void Serve(int connection);

  const int fd_;
  const int port_;
  std::function<std::string()> render_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sluice::node

#endif  // SLUICE_BROKER_NODE_METRICS_HTTP_H_
