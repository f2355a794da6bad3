// Fuzzes ReceiptHandle::Decode, the decoder of the handles clients send back
// with DeleteMessage / ChangeVisibility (untrusted text).
// Properties: Decode never crashes; whatever it accepts re-encodes to a
// handle that decodes to the same value; Decode(Encode(x)) == x for any x
// (built from the input's bytes); every rejection is INVALID_ARGUMENT.
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "broker/queue/receipt_handle.h"
#include "tests/fuzz/fuzz_util.h"

namespace sluice::fuzz {

std::vector<Seed> Seeds() {
  std::vector<Seed> seeds;
  auto handle = [](uint64_t partition, uint64_t seq, uint32_t count) {
    return broker::ReceiptHandle{broker::PartitionId(partition),
                                 broker::MessageSeq(seq), count}
        .Encode();
  };
  seeds.push_back({"seed-handle-1-1-1", handle(1, 1, 1)});
  seeds.push_back({"seed-handle-7-123456-3", handle(7, 123456, 3)});
  seeds.push_back({"seed-handle-max", handle(~0ull, ~0ull, ~0u)});
  std::string torn = handle(2, 99, 1);
  torn.pop_back();
  seeds.push_back({"seed-handle-torn", torn});
  seeds.push_back({"seed-handle-padded", handle(3, 4, 5) + "=="});
  seeds.push_back({"seed-not-base64", "not a receipt handle!"});
  return seeds;
}

}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sluice::broker::MessageSeq;
  using sluice::broker::PartitionId;
  using sluice::broker::ReceiptHandle;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<ReceiptHandle> decoded = ReceiptHandle::Decode(text);
  if (decoded.ok()) {
    const std::string again = decoded->Encode();
    absl::StatusOr<ReceiptHandle> back = ReceiptHandle::Decode(again);
    FUZZ_CHECK(back.ok() && *back == *decoded)
        << "an accepted handle does not survive Encode/Decode";
    // Several spellings may decode (base64 padding, unused low bits), but
    // only to the value that Encode spells canonically.
    FUZZ_CHECK(again.size() == 34) << again;
  } else {
    FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument)
        << decoded.status();
  }

  // Round trip of a handle whose fields come from the input.
  sluice::fuzz::ByteReader in(data, size);
  const ReceiptHandle x{PartitionId(in.U64()), MessageSeq(in.U64()), in.U32()};
  absl::StatusOr<ReceiptHandle> y = ReceiptHandle::Decode(x.Encode());
  FUZZ_CHECK(y.ok() && *y == x) << "Decode(Encode(x)) != x";
  return 0;
}
