#include "base/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace sluice {
namespace {

// Check values from RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32cTest, StandardCheckValues) {
  EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c::Value(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c::Value(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c::Value(ascending), 0x46DD794Eu);
}

TEST(Crc32cTest, ExtendEqualsWholeForEverySplit) {
  std::string data = "the quick brown fox jumps over the lazy dog, twice over";
  uint32_t whole = crc32c::Value(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    uint32_t first = crc32c::Value(data.data(), split);
    EXPECT_EQ(crc32c::Extend(first, data.data() + split, data.size() - split),
              whole)
        << "split at " << split;
  }
}

TEST(Crc32cTest, DetectsOneFlippedBit) {
  std::string data(1024, 'x');
  uint32_t clean = crc32c::Value(data);
  data[517] ^= 0x04;
  EXPECT_NE(crc32c::Value(data), clean);
}

}  // namespace
}  // namespace sluice
