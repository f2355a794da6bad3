// The CLI's command line: flags, words, durations, and typos as errors.
#include "client/cli/cli_args.h"
#include "client/cli/cli_errors.h"
#include "client/cli/cli_output.h"
#include "client/cli/commands.h"
#include "gtest/gtest.h"

namespace sluice::cli {
namespace {

TEST(CliArgsTest, FlagsTakeValuesInEitherFormAndBooleansNone) {
  absl::StatusOr<Args> a =
      Args::Parse({"receive", "jobs", "--max=5", "--wait", "2s", "--ack",
                   "--attr", "a=1", "--attr=b=2"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->positional(), (std::vector<std::string>{"receive", "jobs"}));
  EXPECT_EQ(*a->Int("max", 1, 1, 100), 5);
  EXPECT_EQ(*a->Duration("wait", absl::ZeroDuration()), absl::Seconds(2));
  EXPECT_TRUE(a->Bool("ack"));
  EXPECT_FALSE(a->Bool("json"));
  auto pairs = a->Pairs("attr");
  ASSERT_TRUE(pairs.ok());
  EXPECT_EQ(pairs->at("a"), "1");
  EXPECT_EQ(pairs->at("b"), "2");
}

TEST(CliArgsTest, MistakesAreErrorsThatSayWhat) {
  EXPECT_FALSE(Args::Parse({"send", "--group"}).ok()) << "value missing";
  absl::StatusOr<Args> a = Args::Parse({"receive", "q", "--wiat=2s"});
  ASSERT_TRUE(a.ok());
  absl::Status s = a->Check({"wait", "max"}, 2);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--wiat"), std::string::npos) << s;
  EXPECT_NE(s.message().find("--max, --wait"), std::string::npos) << s;
  a = Args::Parse({"receive", "q", "extra", "--json"});
  EXPECT_NE(a->Check({}, 2).message().find("'extra'"), std::string::npos);
  a = Args::Parse({"x", "--max=500"});
  EXPECT_NE(a->Int("max", 1, 1, 100).status().message().find("1 to 100"),
            std::string::npos);
  a = Args::Parse({"x", "--wait=soon"});
  EXPECT_FALSE(a->Duration("wait", absl::ZeroDuration()).ok());
  a = Args::Parse({"x", "--attr=novalue"});
  EXPECT_FALSE(a->Pairs("attr").ok());
}

TEST(CliArgsTest, DurationsIncludeDays) {
  EXPECT_EQ(*ParseDuration("4d"), absl::Hours(96));
  EXPECT_EQ(*ParseDuration("1.5h"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("250ms"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseDuration("0"), absl::ZeroDuration());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("d").ok());
}

TEST(CliArgsTest, QueueAttributeFlagsAndTheirUpdateMask) {
  absl::StatusOr<Args> a =
      Args::Parse({"queue", "update", "q", "--visibility-timeout=45s",
                   "--dlq=q-dlq", "--max-receives=4", "--retention=2d"});
  std::vector<std::string> mask;
  absl::StatusOr<v1::QueueAttributes> attrs = AttributesFromFlags(*a, &mask);
  ASSERT_TRUE(attrs.ok()) << attrs.status();
  EXPECT_EQ(attrs->visibility_timeout().seconds(), 45);
  EXPECT_EQ(attrs->message_retention().seconds(), 2 * 86400);
  EXPECT_EQ(attrs->redrive_policy().dead_letter_queue_name(), "q-dlq");
  EXPECT_EQ(attrs->redrive_policy().max_receive_count(), 4u);
  EXPECT_EQ(mask, (std::vector<std::string>{"attributes.visibility_timeout",
                                            "attributes.message_retention",
                                            "attributes.redrive_policy"}));
  a = Args::Parse({"queue", "create", "q", "--dlq=x"});
  EXPECT_FALSE(AttributesFromFlags(*a, nullptr).ok())
      << "--dlq without --max-receives";
}

TEST(CliOutputTest, TablesAlignAndDurationsRead) {
  Table t({"NAME", "N"});
  t.Add({"orders", "12"});
  t.Add({"x", "3"});
  EXPECT_EQ(t.Render(), "NAME    N\norders  12\nx       3\n");
  google::protobuf::Duration d;
  d.set_seconds(345600);
  EXPECT_EQ(FormatDuration(d), "4d");
  d.set_seconds(90);
  EXPECT_EQ(FormatDuration(d), "1m30s");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(12), "12 B");
}

TEST(CliErrorsTest, ExitCodesFollowTheStatus) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("")), kExitNotFound);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("")), kExitFailed);
  const std::string text =
      Explain(absl::UnavailableError("connect failed"), {"h:1"});
  EXPECT_NE(text.find("--addresses"), std::string::npos) << text;
}

}  // namespace
}  // namespace sluice::cli
