#include "base/random.h"

#include <vector>

#include "gtest/gtest.h"

namespace sluice {
namespace {

TEST(RandomTest, SameSeedSameSequence) {
  Random a(42), b(42), c(43);
  std::vector<uint64_t> from_a, from_b, from_c;
  for (int i = 0; i < 100; ++i) {
    from_a.push_back(a.Uniform(1000));
    from_b.push_back(b.Uniform(1000));
    from_c.push_back(c.Uniform(1000));
  }
  EXPECT_EQ(from_a, from_b);
  EXPECT_NE(from_a, from_c);
}

// mt19937_64's 10000th output for the default seed is fixed by the standard;
// this pins that our generator replays the same on any platform.
TEST(RandomTest, EngineMatchesStandardReference) {
  Random r(5489u);
  uint64_t x = 0;
  for (int i = 0; i < 10000; ++i) x = r.Next();
  EXPECT_EQ(x, 9981545732273789042ull);
}

TEST(RandomTest, RangeStaysInBounds) {
  Random r(7);
  bool saw_lo = false, saw_hi = false;
  for (int i = 0; i < 10000; ++i) {
    int64_t v = r.Range(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    saw_lo |= v == -3;
    saw_hi |= v == 3;
  }
  EXPECT_TRUE(saw_lo);
  EXPECT_TRUE(saw_hi);
}

}  // namespace
}  // namespace sluice
