#include "broker/node/metrics_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::node {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Get(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
  EXPECT_EQ(::write(fd, request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[1024];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0)
    response.append(buffer, n);
  ::close(fd);
  return response;
}

TEST(MetricsHttpServerTest, ServesMetricsAndRefusesOtherPaths) {
  int scrapes = 0;
  auto server = MetricsHttpServer::Start("127.0.0.1:0", [&] {
    ++scrapes;
    return std::string("sluice_up 1\n");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  std::string ok = Get(port, "/metrics");
  EXPECT_THAT(ok, StartsWith("HTTP/1.0 200 OK"));
  EXPECT_THAT(ok, HasSubstr("Content-Length: 12"));
  EXPECT_THAT(ok, HasSubstr("\r\n\r\nsluice_up 1\n"));
  EXPECT_THAT(Get(port, "/"), StartsWith("HTTP/1.0 404"));
  EXPECT_EQ(scrapes, 1);
}

TEST(MetricsHttpServerTest, BadAddressIsInvalidArgument) {
  EXPECT_EQ(MetricsHttpServer::Start("nowhere", [] { return std::string(); })
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::node
