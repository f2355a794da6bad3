// sluiced as a user meets it: real processes, real gRPC on loopback, real
// LevelDB on disk.
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/sluiced_process.h"
#include "tests/integration/test_root.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMetadataGroup = 1;

TEST(SluicedTest, BadFlagsExitWithStatusTwoNamingTheFlag) {
  RunResult r = RunToExit(SluicedBinary(), {"--node-id=0"}, absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--node-id: '0' is not a number >= 1"));
  r = RunToExit(SluicedBinary(),
                {"--node-id=1", "--listen=127.0.0.1:1", "--data-dir=/tmp/x",
                 "--peers=2=127.0.0.1:2"},
                absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--peers: does not list this node"));
}

TEST(SluicedTest, DataDirOfAnotherNodeIsRefused) {
  const std::string dir = TestRoot();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/IDENTITY") << "cluster-name=sluice\nnode-id=2\n";
  const std::string address = absl::StrCat("127.0.0.1:", FreePort());
  RunResult r = RunToExit(SluicedBinary(),
                          {"--node-id=1", "--listen=" + address,
                           "--data-dir=" + dir, "--peers=1=" + address},
                          absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("belongs to another node or cluster"));
}

TEST(SluicedTest, ThreeNodesElectOneMetadataLeaderAndSurviveItsLoss) {
  TestCluster cluster(3, TestRoot());
  ASSERT_TRUE(cluster.StartAll().ok());
  const uint64_t leader =
      cluster.WaitForLeader(kMetadataGroup, absl::Seconds(20));
  ASSERT_NE(leader, 0u);

  sluice::v1::GetClusterStatusResponse status;
  ASSERT_TRUE(cluster.node(1).Status(&status).ok());
  EXPECT_EQ(status.nodes_size(), 3);
  EXPECT_EQ(status.answering_node_id(), 1u);

  cluster.node(static_cast<int>(leader)).Kill();
  const uint64_t next =
      cluster.WaitForLeader(kMetadataGroup, absl::Seconds(20));
  ASSERT_NE(next, 0u);
  EXPECT_NE(next, leader);

  // The killed node comes back on its data dir and follows the new leader.
  ASSERT_TRUE(cluster.node(static_cast<int>(leader)).Start().ok());
  EXPECT_EQ(cluster.WaitForLeader(kMetadataGroup, absl::Seconds(20)), next);
}

TEST(SluicedTest, SigtermMovesLeadershipAwayAndExitsCleanly) {
  TestCluster cluster(3, TestRoot());
  ASSERT_TRUE(cluster.StartAll().ok());
  const uint64_t leader =
      cluster.WaitForLeader(kMetadataGroup, absl::Seconds(20));
  ASSERT_NE(leader, 0u);
  EXPECT_EQ(cluster.node(static_cast<int>(leader)).Terminate(absl::Seconds(20)),
            0);
  const uint64_t next = cluster.WaitForLeader(kMetadataGroup, absl::Seconds(5));
  EXPECT_NE(next, 0u);
  EXPECT_NE(next, leader);
  EXPECT_THAT(cluster.node(static_cast<int>(leader)).Log(),
              HasSubstr("drained (0"));
}

TEST(SluicedTest, WholeClusterRestartKeepsTheMetadataLog) {
  TestCluster cluster(3, TestRoot());
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_NE(cluster.WaitForLeader(kMetadataGroup, absl::Seconds(20)), 0u);
  sluice::v1::GetClusterStatusResponse before;
  ASSERT_TRUE(cluster.node(1).Status(&before).ok());
  uint64_t term_before = 0;
  for (const auto& g : before.groups()) {
    if (g.group_id() == kMetadataGroup) term_before = g.term();
  }
  for (int id = 1; id <= 3; ++id) cluster.node(id).Kill();
  ASSERT_TRUE(cluster.StartAll().ok());
  ASSERT_NE(cluster.WaitForLeader(kMetadataGroup, absl::Seconds(20)), 0u);
  sluice::v1::GetClusterStatusResponse after;
  ASSERT_TRUE(cluster.node(1).Status(&after).ok());
  for (const auto& g : after.groups()) {
    // Terms survive restart (Raft's hard state is on disk): only higher.
    if (g.group_id() == kMetadataGroup) {
      EXPECT_GT(g.term(), term_before);
    }
  }
}

}  // namespace
}  // namespace sluice::testing
