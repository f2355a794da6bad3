#include "base/xxh64.h"

#include <string>

#include "gtest/gtest.h"

namespace sluice {
namespace {

// Reference values of the xxHash project (xxhsum -H64 / its sanity tests).
TEST(Xxh64Test, MatchesReferenceValues) {
  EXPECT_EQ(Xxh64(""), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(Xxh64("a"), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(Xxh64("abc"), 0x44BC2CF5AD770999ULL);
  // 39 bytes: one 32-byte stripe, then the 4-, 1-byte tails.
  EXPECT_EQ(Xxh64("Nobody inspects the spammish repetition"),
            0xFBCEA83C8A378BF1ULL);
}

TEST(Xxh64Test, LongInputsUseEveryLaneAndTail) {
  // 32-byte stripes plus 8-, 4- and 1-byte tails: every path of the hash.
  std::string data;
  for (int i = 0; i < 77; ++i) data.push_back(static_cast<char>(i * 7));
  const uint64_t whole = Xxh64(data);
  EXPECT_NE(whole, Xxh64(data.substr(0, 76)));
  data[40] ^= 1;
  EXPECT_NE(whole, Xxh64(data));
  EXPECT_NE(Xxh64("abc", 1), Xxh64("abc"));
}

}  // namespace
}  // namespace sluice
