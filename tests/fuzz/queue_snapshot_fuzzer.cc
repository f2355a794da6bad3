// Fuzzes the restore of a queue partition's snapshot (broker/queue/snapshot.h
// chunks, framed by broker/host/queue_partition.cc): the bytes a leader
// streams to a slow follower, which the follower writes to its LevelDB and
// then loads (QueueStateMachine::Open reads every record kind back).
//
// Input: [mode:1] then
//   mode odd:  the snapshot data as is (frames of chunks with their CRCs)
//   mode even: records [key suffix frame][value frame]..., which the target
//              packs into correctly framed and checksummed chunks, so the
//              fuzzer reaches the record parsers behind the checksums.
// After a restore that was accepted, the queue is driven by the remaining
// ops of queue_fuzz_harness.h (mode even: none; the records take the input).
// Properties: no crash; a restore PrepareRestore accepts also loads
// (the host cannot undo it); the restored state survives a reopen and its
// own snapshot round trip.
#include <cstdint>
#include <string>

#include "base/crc32c.h"
#include "broker/queue/keys.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/queue_fuzz_harness.h"

namespace sluice::fuzz {
namespace {

void AppendVarint32(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// One framed chunk holding `records` (broker/queue/snapshot.h's format).
std::string Chunk(const std::vector<std::pair<std::string, std::string>>& rs) {
  std::string chunk("S\x01", 2);
  for (const auto& [key, value] : rs) {
    AppendVarint32(&chunk, static_cast<uint32_t>(key.size()));
    chunk.append(key);
    AppendVarint32(&chunk, static_cast<uint32_t>(value.size()));
    chunk.append(value);
  }
  const uint32_t crc = crc32c::Value(chunk);
  for (int shift = 24; shift >= 0; shift -= 8) {
    chunk.push_back(static_cast<char>((crc >> shift) & 0xff));
  }
  std::string framed;
  const uint32_t n = static_cast<uint32_t>(chunk.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    framed.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  return framed + chunk;
}

}  // namespace

std::vector<Seed> Seeds() {
  std::vector<Seed> seeds;
  // A real snapshot of a queue with messages in every state.
  QueueFuzzHarness h;
  internal::Command c;
  c.mutable_set_attributes()->mutable_attributes()->set_name("q");
  h.Apply(c);
  internal::Command send;
  for (int i = 0; i < 4; ++i) {
    auto* e = send.mutable_send()->add_entries();
    e->set_body("m" + std::to_string(i));
    if (i == 3) e->set_delay_micros(60'000'000);
  }
  h.Apply(send);
  h.Receive(1);
  const std::string data = h.Snapshot();
  seeds.push_back({"seed-real-snapshot", std::string(1, 1) + data});

  // The same records, for the record mode: split the snapshot back up.
  std::string records(1, 0);
  {
    std::string_view rest = data;
    while (rest.size() > 4) {
      const uint32_t n = (static_cast<uint8_t>(rest[0]) << 24) |
                         (static_cast<uint8_t>(rest[1]) << 16) |
                         (static_cast<uint8_t>(rest[2]) << 8) |
                         static_cast<uint8_t>(rest[3]);
      std::string_view body = rest.substr(4 + 2, n - 2 - 4);
      rest.remove_prefix(4 + n);
      while (!body.empty()) {
        // Keys and values of a small queue are under 128 bytes: one-byte
        // varints.
        const size_t kn = static_cast<uint8_t>(body[0]);
        const std::string_view key = body.substr(1, kn);
        body.remove_prefix(1 + kn);
        const size_t vn = static_cast<uint8_t>(body[0]);
        const std::string_view value = body.substr(1, vn);
        body.remove_prefix(1 + vn);
        Frame(&records, key);
        Frame(&records, value);
      }
    }
  }
  seeds.push_back({"seed-real-records", records});
  seeds.push_back({"seed-empty", std::string(1, 1)});
  seeds.push_back(
      {"seed-torn", std::string(1, 1) + data.substr(0, data.size() / 2)});
  return seeds;
}

}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::fuzz;  // NOLINT(google-build-using-namespace)
  ByteReader in(data, size);
  QueueFuzzHarness harness;
  if (in.U8() % 2 == 1) {
    // Everything else is the snapshot; then the queue is exercised.
    if (!harness.Restore(in.Rest())) return 0;
  } else {
    std::vector<std::pair<std::string, std::string>> records;
    while (!in.empty() && records.size() < 1000) {
      std::string key(in.Bytes());
      std::string value(in.Bytes());
      records.emplace_back(std::move(key), std::move(value));
    }
    if (!harness.Restore(Chunk(records))) return 0;
  }
  harness.Query();
  harness.Reopen();
  harness.CheckSnapshotRoundTrip();
  return 0;
}
