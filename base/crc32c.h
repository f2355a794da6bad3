// CRC-32C (Castagnoli), the checksum on every Raft log record and snapshot
// chunk. Uses the SSE4.2 instruction when the CPU has it, a table otherwise.
// Debian 12 has no crc32c library, hence this one.
#ifndef SLUICE_BASE_CRC32C_H_
#define SLUICE_BASE_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::crc32c {

// Extends `crc` (the CRC of some data A) to the CRC of A followed by `data`.
uint32_t Extend(uint32_t crc, const char* data, size_t n);

inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view data) {
  return Extend(0, data.data(), data.size());
}

}  // namespace sluice::crc32c

#endif  // SLUICE_BASE_CRC32C_H_
