#include "base/sha256.h"

#include <string>

#include "gtest/gtest.h"

namespace sluice {
namespace {

// Test vectors from FIPS 180-4's examples (NIST CSRC).
TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256::HexHash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::HexHash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256::HexHash(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256::HexHash(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, IncrementalUpdatesMatchOneShot) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 7));
  for (size_t chunk : {1u, 3u, 63u, 64u, 65u, 200u}) {
    Sha256 hasher;
    for (size_t pos = 0; pos < data.size(); pos += chunk) {
      hasher.Update(std::string_view(data).substr(pos, chunk));
    }
    EXPECT_EQ(hasher.Finish(), Sha256::Hash(data)) << "chunk " << chunk;
  }
}

}  // namespace
}  // namespace sluice
