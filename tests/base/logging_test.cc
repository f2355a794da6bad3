#include "base/logging.h"

#include <string>

#include "gtest/gtest.h"

namespace sluice {
namespace {

TEST(LoggingTest, KeyValuePairsAreQuotedWhenNeeded) {
  std::ostringstream os;
  os << LogKV("group", 7) << LogKV("reason", "lost quorum") << LogKV("e", "");
  EXPECT_EQ(os.str(), " group=7 reason=\"lost quorum\" e=\"\"");
}

TEST(LoggingTest, LinesBelowMinimumAreNotEvaluated) {
  SetMinLogSeverity(LogSeverity::kWarning);
  int evaluated = 0;
  auto count = [&] { return ++evaluated; };
  SLUICE_LOG(INFO) << count();
  EXPECT_EQ(evaluated, 0);
  SetMinLogSeverity(LogSeverity::kInfo);
}

TEST(LoggingDeathTest, CheckFailureAbortsWithMessage) {
  EXPECT_DEATH(SLUICE_CHECK(1 + 1 == 3) << "group " << 7,
               "Check failed: 1 \\+ 1 == 3 group 7");
}

}  // namespace
}  // namespace sluice
