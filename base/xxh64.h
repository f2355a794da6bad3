// XXH64 (seed 0 by default), the hash behind PARTITION_ROUTING_XXH64:
// partition = XXH64(key bytes) mod partition_count. Written from the public
// algorithm description (github.com/Cyan4973/xxHash, doc/xxhash_spec.md);
// the test pins the specification's known values.
#ifndef SLUICE_BASE_XXH64_H_
#define SLUICE_BASE_XXH64_H_

#include <cstdint>
#include <string_view>

namespace sluice {

uint64_t Xxh64(std::string_view data, uint64_t seed = 0);

}  // namespace sluice

#endif  // SLUICE_BASE_XXH64_H_
