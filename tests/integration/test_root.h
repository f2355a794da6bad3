// The data folder of the running integration test: one per test (suite and
// name), under gtest's temp dir, so parallel tests never share one.
#ifndef SLUICE_TESTS_INTEGRATION_TEST_ROOT_H_
#define SLUICE_TESTS_INTEGRATION_TEST_ROOT_H_

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sluice::testing {

inline std::string TestRoot() {
  const ::testing::TestInfo* test =
      ::testing::UnitTest::GetInstance()->current_test_info();
  return std::filesystem::path(::testing::TempDir()) /
         absl::StrCat("sluice-it-", test->test_suite_name(), ".", test->name());
}

}  // namespace sluice::testing

#endif  // SLUICE_TESTS_INTEGRATION_TEST_ROOT_H_
