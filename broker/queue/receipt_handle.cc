#include "broker/queue/receipt_handle.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "base/crc32c.h"
#include "broker/queue/keys.h"

namespace sluice::broker {
namespace {

constexpr char kVersion = 0x01;
constexpr size_t kPayloadSize = 1 + 8 + 8 + 4;
constexpr size_t kEncodedSize = kPayloadSize + 4;

void AppendBigEndian32(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

uint32_t ReadBigEndian32(const char* p) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(p[i]);
  return value;
}

absl::Status Invalid() {
  return absl::InvalidArgumentError(
      "receipt_handle: not a receipt handle issued by this queue");
}

}  // namespace

std::string ReceiptHandle::Encode() const {
  std::string raw(1, kVersion);
  AppendBigEndian64(&raw, partition.value());
  AppendBigEndian64(&raw, sequence.value());
  AppendBigEndian32(&raw, receive_count);
  AppendBigEndian32(&raw, crc32c::Value(raw));
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<ReceiptHandle> ReceiptHandle::Decode(std::string_view text) {
  std::string raw;
  if (text.size() > 64 || !absl::WebSafeBase64Unescape(AbslView(text), &raw) ||
      raw.size() != kEncodedSize || raw[0] != kVersion) {
    return Invalid();
  }
  if (crc32c::Value(raw.data(), kPayloadSize) !=
      ReadBigEndian32(raw.data() + kPayloadSize)) {
    return Invalid();
  }
  ReceiptHandle handle;
  handle.partition = PartitionId(ReadBigEndian64(raw.data() + 1));
  handle.sequence = MessageSeq(ReadBigEndian64(raw.data() + 9));
  handle.receive_count = ReadBigEndian32(raw.data() + 17);
  return handle;
}

}  // namespace sluice::broker
