// The `sluice` CLI as a user runs it: a real process against three real
// nodes, checked by its output and exit codes.
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/sluiced_process.h"
#include "tests/integration/test_root.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

class CliProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(3, TestRoot());
    ASSERT_TRUE(cluster_->StartAll().ok());
    ASSERT_NE(cluster_->WaitForLeader(1, absl::Seconds(20)), 0u);
    std::vector<std::string> addresses;
    for (int n = 1; n <= 3; ++n)
      addresses.push_back(cluster_->node(n).address());
    addresses_ = absl::StrCat("--addresses=", absl::StrJoin(addresses, ","));
  }

  // Runs `sluice --addresses=... args...`; output is stdout and stderr.
  RunResult Sluice(std::vector<std::string> args) {
    args.insert(args.begin(), addresses_);
    return RunToExit(SLUICE_CLI_PATH, args, absl::Seconds(60));
  }

  // The same through a shell, with `input` on stdin.
  RunResult SluiceWithInput(const std::string& input, const std::string& args) {
    return RunToExit(
        "/bin/sh",
        {"-c", absl::StrCat("printf '", input, "' | ", SLUICE_CLI_PATH, " ",
                            addresses_, " ", args)},
        absl::Seconds(60));
  }

  std::unique_ptr<TestCluster> cluster_;
  std::string addresses_;
};

TEST_F(CliProcessTest, QueueLifecycleSendReceiveStatsAndErrors) {
  RunResult r = Sluice({"queue", "create", "cli-dlq"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("created standard queue cli-dlq"));
  const std::vector<std::string> create = {"queue",
                                           "create",
                                           "cli-jobs",
                                           "--partitions=2",
                                           "--dlq=cli-dlq",
                                           "--max-receives=2",
                                           "--visibility-timeout=1m"};
  r = Sluice(create);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Sluice(create);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("exists (same attributes)"));
  r = Sluice({"queue", "create", "cli-jobs", "--partitions=3"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("ALREADY_EXISTS"));
  EXPECT_THAT(r.output, HasSubstr("hint: `sluice queue get NAME`"));

  r = SluiceWithInput("one\\ntwo\\nthree\\n",
                      "send cli-jobs --stdin --attr kind=test");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Count(r.output, "sent "), 3) << r.output;

  // A long poll answers from the first partition with messages: receive
  // (and ack) until all three came.
  int received = 0;
  for (int i = 0; i < 10 && received < 3; ++i) {
    r = Sluice(
        {"--json", "receive", "cli-jobs", "--max=10", "--wait=5s", "--ack"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    received += Count(r.output, "\"receipt_handle\"");
  }
  EXPECT_EQ(received, 3);

  r = Sluice({"--json", "stats", "cli-jobs"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"sent_count\": \"3\""));
  EXPECT_THAT(r.output, HasSubstr("\"deleted_count\": \"3\""));
  r = Sluice({"stats", "cli-jobs", "--by-partition"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("VISIBLE"));
  EXPECT_THAT(r.output, HasSubstr("partition 1"));

  r = Sluice({"queue", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cli-jobs"));
  EXPECT_THAT(r.output, HasSubstr("cli-dlq"));
  r = Sluice({"cluster", "status"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (int n = 1; n <= 3; ++n) {
    EXPECT_THAT(r.output, HasSubstr(cluster_->node(n).address()));
  }
  EXPECT_THAT(r.output, HasSubstr("cli-jobs"));

  // Errors: what went wrong, what to do, and an exit code to branch on.
  r = Sluice({"stats", "nope"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("`sluice queue list`"));
  r = Sluice({"receive", "cli-jobs", "--wiat=1s"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("unknown flag --wiat"));
  r = Sluice({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = RunToExit(SLUICE_CLI_PATH,
                {"--addresses=127.0.0.1:1", "--timeout=1s", "queue", "list"},
                absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Is the cluster running"));
  r = Sluice({"queue", "delete", "cli-dlq"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("QUEUE_IN_USE_AS_DEAD_LETTER"));
  r = Sluice({"queue", "delete", "cli-dlq", "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = Sluice({"redrive", "list"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace sluice::testing
