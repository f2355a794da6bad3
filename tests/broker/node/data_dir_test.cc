#include "broker/node/data_dir.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::node {
namespace {

using ::testing::HasSubstr;

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::path(::testing::TempDir()) /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(path_);
  }
  void TearDown() override { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

  std::filesystem::path path_;
};

TEST_F(DataDirTest, FirstClaimIsNewAndLaterClaimsAreNot) {
  {
    auto dir = DataDir::Claim(path(), "prod", 1);
    ASSERT_TRUE(dir.ok()) << dir.status();
    EXPECT_TRUE((*dir)->is_new());
    EXPECT_EQ((*dir)->RaftDbPath(), path() + "/raft");
  }
  auto again = DataDir::Claim(path(), "prod", 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE((*again)->is_new());
}

TEST_F(DataDirTest, AnotherNodeOrClusterIsRefused) {
  { ASSERT_TRUE(DataDir::Claim(path(), "prod", 1).ok()); }
  auto other_node = DataDir::Claim(path(), "prod", 2);
  EXPECT_EQ(other_node.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(other_node.status().message(),
              HasSubstr("belongs to another node"));
  auto other_cluster = DataDir::Claim(path(), "staging", 1);
  EXPECT_EQ(other_cluster.status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(DataDirTest, SecondProcessOnTheSameDirIsRefused) {
  auto first = DataDir::Claim(path(), "prod", 1);
  ASSERT_TRUE(first.ok());
  auto second = DataDir::Claim(path(), "prod", 1);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(),
              HasSubstr("in use by another process"));
}

TEST_F(DataDirTest, DataWithoutIdentityIsRefused) {
  std::filesystem::create_directories(path() + "/raft");
  auto dir = DataDir::Claim(path(), "prod", 1);
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(dir.status().message(), HasSubstr("no IDENTITY"));
}

}  // namespace
}  // namespace sluice::node
