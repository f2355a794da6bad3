#include "base/strong_int.h"

#include <sstream>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace sluice {
namespace {

using Apples = StrongInt<struct ApplesTag>;
using Pears = StrongInt<struct PearsTag>;

TEST(StrongIntTest, DifferentTagsDoNotConvert) {
  static_assert(!std::is_convertible_v<Apples, Pears>);
  static_assert(!std::is_convertible_v<uint64_t, Apples>);
  static_assert(!std::is_constructible_v<Pears, Apples>);
}

TEST(StrongIntTest, ArithmeticAndOrdering) {
  Apples a(5);
  EXPECT_EQ(a + 2, Apples(7));
  EXPECT_EQ(Apples(9) - Apples(4), 5u);
  EXPECT_LT(Apples(1), Apples(2));
  ++a;
  EXPECT_EQ(a.value(), 6u);
}

TEST(StrongIntTest, HashesAndPrints) {
  absl::flat_hash_set<Apples> set = {Apples(1), Apples(2), Apples(1)};
  EXPECT_EQ(set.size(), 2u);
  std::ostringstream os;
  os << "a=" << Apples(3);
  EXPECT_EQ(os.str(), "a=3");
}

}  // namespace
}  // namespace sluice
