// SHA-256 (FIPS 180-4), for content-based deduplication of FIFO sends.
// Written here because the build must not depend on OpenSSL's headers.
#ifndef SLUICE_BASE_SHA256_H_
#define SLUICE_BASE_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  void Update(std::string_view data);
  // Finishes the hash; the object must not be updated afterwards.
  Digest Finish();

  static Digest Hash(std::string_view data);
  static std::string HexHash(std::string_view data);

 private:
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

}  // namespace sluice

#endif  // SLUICE_BASE_SHA256_H_
