#include "broker/partition/public_ids.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/crc32c.h"
#include "broker/partition/entry_status.h"
#include "broker/queue/keys.h"

namespace sluice::broker {
namespace {

constexpr char kVersion = 0x01;
constexpr size_t kPayloadSize = 1 + 8 + 4 + 8 + 4;
constexpr size_t kEncodedSize = kPayloadSize + 4;
// Base64 of 29 bytes is 39 characters; anything much longer is garbage.
constexpr size_t kMaxTextSize = 64;

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

absl::Status Invalid(std::string_view why) {
  return WithReason(absl::InvalidArgumentError(
                        absl::StrCat("receipt_handle: ", AbslView(why))),
                    v1::ERROR_REASON_RECEIPT_HANDLE_INVALID, "receipt_handle");
}

}  // namespace

std::string PublicReceipt::Encode() const {
  std::string raw(1, kVersion);
  AppendBigEndian64(&raw, queue_id);
  AppendBigEndian32(&raw, partition);
  AppendBigEndian64(&raw, sequence.value());
  AppendBigEndian32(&raw, receive_count);
  AppendBigEndian32(&raw, crc32c::Value(raw));
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<PublicReceipt> PublicReceipt::Decode(std::string_view text) {
  std::string raw;
  if (text.empty()) return Invalid("required");
  if (text.size() > kMaxTextSize ||
      !absl::WebSafeBase64Unescape(AbslView(text), &raw) ||
      raw.size() != kEncodedSize || raw[0] != kVersion ||
      crc32c::Value(raw.data(), kPayloadSize) !=
          ReadBigEndian32(raw.data() + kPayloadSize)) {
    return Invalid("not a receipt handle issued by this cluster");
  }
  PublicReceipt r;
  r.queue_id = ReadBigEndian64(raw.data() + 1);
  r.partition = ReadBigEndian32(raw.data() + 9);
  r.sequence = MessageSeq(ReadBigEndian64(raw.data() + 13));
  r.receive_count = ReadBigEndian32(raw.data() + 21);
  return r;
}

absl::StatusOr<uint32_t> ReceiptHandlePartition(std::string_view handle,
                                                uint64_t queue_id) {
  absl::StatusOr<PublicReceipt> r = PublicReceipt::Decode(handle);
  if (!r.ok()) return r.status();
  if (r->queue_id != queue_id) {
    return Invalid("issued by another queue (or a deleted one of this name)");
  }
  return r->partition;
}

std::string FormatMessageId(uint64_t queue_id, uint32_t partition,
                            MessageSeq sequence) {
  return absl::StrFormat("%016x%08x%016x", queue_id, partition,
                         sequence.value());
}

}  // namespace sluice::broker
