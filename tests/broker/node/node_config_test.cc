#include "broker/node/node_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::node {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> GoodFlags() {
  return {"--node-id=2", "--listen=127.0.0.1:7102",
          "--peers=1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103",
          "--data-dir=/tmp/n2"};
}

TEST(NodeConfigTest, ParsesFlags) {
  std::vector<std::string> flags = GoodFlags();
  flags.push_back("--metrics-listen=127.0.0.1:9102");
  flags.push_back("--tick-ms=20");
  flags.push_back("--quiesce=false");
  auto config = ParseNodeConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->node_id, 2u);
  EXPECT_EQ(config->advertised(), "127.0.0.1:7102");
  EXPECT_EQ(config->peers.size(), 3u);
  EXPECT_EQ(config->peers.at(3), "127.0.0.1:7103");
  EXPECT_EQ(config->metrics_listen, "127.0.0.1:9102");
  EXPECT_EQ(config->tick_interval, absl::Milliseconds(20));
  EXPECT_EQ(config->cluster_name, "sluice");
  EXPECT_FALSE(config->quiesce);
}

TEST(NodeConfigTest, ConfigFileIsReadAndFlagsOverrideIt) {
  NodeConfig config;
  ASSERT_TRUE(ApplyConfigFile(R"(
      # a comment
      node-id = 1
      listen = 127.0.0.1:7101   # trailing comment
      peers = 1=127.0.0.1:7101
      data-dir = /var/lib/sluice
      cluster-name = prod
  )",
                              config)
                  .ok());
  EXPECT_EQ(config.node_id, 1u);
  EXPECT_EQ(config.data_dir, "/var/lib/sluice");
  EXPECT_EQ(config.cluster_name, "prod");
  EXPECT_TRUE(ValidateNodeConfig(config).ok());
}

TEST(NodeConfigTest, ConfigFileErrorsNameTheLine) {
  NodeConfig config;
  absl::Status s = ApplyConfigFile("node-id = 1\nnonsense\n", config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("config line 2"));
  s = ApplyConfigFile("colour = blue\n", config);
  EXPECT_THAT(s.message(), HasSubstr("unknown setting 'colour'"));
}

TEST(NodeConfigTest, BadFlagsSayWhatIsWrong) {
  struct Case {
    std::vector<std::string> replace;  // appended, later flags win
    std::string message;
  };
  const Case cases[] = {
      {{"--node-id=0"}, "--node-id: '0' is not a number >= 1"},
      {{"--node-id=x"}, "--node-id: 'x' is not a number >= 1"},
      {{"--listen=localhost"}, "--listen: 'localhost' has no port"},
      {{"--listen=127.0.0.1:99999"}, "port must be a number in 1..65535"},
      {{"--peers=1=a:1,1=b:2"}, "node id 1 appears twice"},
      {{"--peers=1"}, "entry '1' has no address"},
      {{"--peers=1=a:1,3=c:3"}, "does not list this node (--node-id=2)"},
      {{"--peers=2=other:7102"}, "lists node 2 at other:7102"},
      {{"--listen=::1:7102"}, "put an IPv6 address in brackets"},
      {{"--bogus=1"}, "unknown setting 'bogus'"},
      {{"positional"}, "unexpected argument 'positional'"},
      {{"--node-id"}, "has no value"},
      {{"--tick-ms=0"}, "--tick-ms: '0' is not in 1..1000"},
      {{"--quiesce=yes"}, "--quiesce: 'yes' is not true or false"},
      {{"--config=/nonexistent/sluice.conf"}, "cannot read '/nonexistent"},
      {{"--tls-cert=n.pem", "--tls-key=n.key"},
       "--tls-ca: required with the other TLS flags"},
      {{"--tls-ca=ca.pem"}, "--tls-cert: required with the other TLS flags"},
      {{"--auth-config=auth.conf"}, "--auth-config: needs TLS"},
      {{"--max-streams-per-connection=0"}, "is not in 1..100000"},
      {{"--max-queues=x"}, "--max-queues: 'x' is not in 1..1000000"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> flags = GoodFlags();
    flags.insert(flags.end(), c.replace.begin(), c.replace.end());
    auto config = ParseNodeConfig(flags);
    ASSERT_FALSE(config.ok()) << c.replace[0];
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr(c.message))
        << c.replace[0];
  }
}

TEST(NodeConfigTest, SecurityAndLimitFlags) {
  std::vector<std::string> flags = GoodFlags();
  for (const char* f :
       {"--tls-cert=n.pem", "--tls-key=n.key", "--tls-ca=ca.pem",
        "--auth-config=auth.conf", "--max-streams-per-connection=64",
        "--max-queues=500"}) {
    flags.push_back(f);
  }
  auto config = ParseNodeConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->tls_enabled());
  EXPECT_EQ(config->tls_ca, "ca.pem");
  EXPECT_EQ(config->auth_config, "auth.conf");
  EXPECT_EQ(config->max_streams_per_connection, 64);
  EXPECT_EQ(config->max_queues, 500u);
  auto plain = ParseNodeConfig(GoodFlags());
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls_enabled());
  EXPECT_TRUE(plain->auth_config.empty());
}

TEST(NodeConfigTest, MissingRequiredFlagsAreNamed) {
  EXPECT_THAT(ParseNodeConfig({}).status().message(),
              HasSubstr("--node-id: required"));
  EXPECT_THAT(ParseNodeConfig({"--node-id=1"}).status().message(),
              HasSubstr("--listen: required"));
  EXPECT_THAT(
      ParseNodeConfig({"--node-id=1", "--listen=:7101"}).status().message(),
      HasSubstr("--data-dir: required"));
}

TEST(NodeConfigTest, AdvertiseDecidesWhichPeerEntryIsThisNode) {
  std::vector<std::string> flags = GoodFlags();
  flags.push_back("--listen=0.0.0.0:7102");
  EXPECT_FALSE(ParseNodeConfig(flags).ok());
  flags.push_back("--advertise=127.0.0.1:7102");
  auto config = ParseNodeConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "0.0.0.0:7102");
  EXPECT_EQ(config->advertised(), "127.0.0.1:7102");
}

}  // namespace
}  // namespace sluice::node
