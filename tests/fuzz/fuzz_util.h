// Helpers shared by the fuzz targets (tests/fuzz/README.md):
//   ByteReader  takes typed values and length-prefixed pieces from the
//               fuzzer's input; past its end every read gives 0 or "".
//   Frame       the inverse, for writing seeds.
//   MemDb       a LevelDB held in memory (leveldb/helpers/memenv), so a
//               target can build and reopen a whole DB per input cheaply.
//   Seed        what a target's Seeds() returns for --write-seeds.
// FUZZ_CHECK states a property the target checks; a failure aborts, which
// libFuzzer reports as a crash with the input that caused it.
// Test-only; one thread.
#ifndef SLUICE_TESTS_FUZZ_FUZZ_UTIL_H_
#define SLUICE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/logging.h"
#include "leveldb/db.h"
#include "leveldb/env.h"
#include "leveldb/helpers/memenv.h"
#include "leveldb/write_batch.h"

#define FUZZ_CHECK(cond) SLUICE_CHECK(cond) << "fuzz property: "

namespace sluice::fuzz {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size)
      : in_(reinterpret_cast<const char*>(data), size) {}
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool empty() const { return in_.empty(); }
  size_t remaining() const { return in_.size(); }

  uint8_t U8() {
    if (in_.empty()) return 0;
    const uint8_t v = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return v;
  }
  uint16_t U16() {
    const uint16_t hi = U8();
    return static_cast<uint16_t>((hi << 8) | U8());
  }
  uint32_t U32() {
    const uint32_t hi = U16();
    return (hi << 16) | U16();
  }
  uint64_t U64() {
    const uint64_t hi = U32();
    return (hi << 32) | U32();
  }
  // A piece written by Frame: a 2-byte big-endian length, then that many
  // bytes (fewer if the input ends first).
  std::string_view Bytes() {
    // Not std::min(U16(), in_.size()): the order in which arguments are
    // evaluated is unspecified (g++ reads the size first).
    const size_t want = U16();
    const size_t n = std::min(want, in_.size());
    std::string_view piece = in_.substr(0, n);
    in_.remove_prefix(n);
    return piece;
  }
  std::string_view Rest() {
    std::string_view rest = in_;
    in_ = {};
    return rest;
  }

 private:
  std::string_view in_;
};

// Decoders log what they reject; at fuzzing rates that is noise. Crashes
// (kFatal) still print.
inline const bool kQuietLogs = [] {
  SetMinLogSeverity(LogSeverity::kFatal);
  return true;
}();

// Debian's Abseil has its own string_view, which raft/ uses.
inline absl::string_view Absl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Appends what ByteReader::Bytes reads back.
inline void Frame(std::string* out, std::string_view piece) {
  const size_t n = std::min<size_t>(piece.size(), 0xffff);
  out->push_back(static_cast<char>(n >> 8));
  out->push_back(static_cast<char>(n & 0xff));
  out->append(piece.substr(0, n));
}

inline void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

// An empty LevelDB in memory, destroyed with the object.
class MemDb {
 public:
  MemDb() : env_(leveldb::NewMemEnv(leveldb::Env::Default())) { Open(); }
  ~MemDb() { db_.reset(); }
  MemDb(const MemDb&) = delete;
  MemDb& operator=(const MemDb&) = delete;

  leveldb::DB* db() { return db_.get(); }
  void Write(leveldb::WriteBatch* batch) {
    leveldb::Status s = db_->Write(leveldb::WriteOptions(), batch);
    SLUICE_CHECK(s.ok()) << s.ToString();
  }
  // Closes and reopens the DB (what a process restart reads back).
  void Reopen() {
    db_.reset();
    Open();
  }

 private:
  void Open() {
    leveldb::Options options;
    options.env = env_.get();
    options.create_if_missing = true;
    leveldb::DB* db = nullptr;
    leveldb::Status s = leveldb::DB::Open(options, "/db", &db);
    SLUICE_CHECK(s.ok()) << s.ToString();
    db_.reset(db);
  }

  std::unique_ptr<leveldb::Env> env_;
  std::unique_ptr<leveldb::DB> db_;
};

// One seed input: written as <corpus dir>/<name> by `<target>_replay
// --write-seeds DIR`.
struct Seed {
  std::string name;
  std::string bytes;
};

// Defined by each target next to LLVMFuzzerTestOneInput.
std::vector<Seed> Seeds();

}  // namespace sluice::fuzz

#endif  // SLUICE_TESTS_FUZZ_FUZZ_UTIL_H_
