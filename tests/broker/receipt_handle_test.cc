// Receipt handles (issue 4, point 4): encoding round trip and rejection.
#include "broker/queue/receipt_handle.h"

#include "gtest/gtest.h"

namespace sluice::broker {
namespace {

TEST(ReceiptHandle, RoundTrips) {
  ReceiptHandle h{PartitionId(42), MessageSeq(1234567890123), 7};
  const std::string text = h.Encode();
  EXPECT_EQ(text.size(), 34u);  // 25 bytes in unpadded base64url
  auto back = ReceiptHandle::Decode(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
}

TEST(ReceiptHandle, DifferentReceivesGiveDifferentHandles) {
  ReceiptHandle a{PartitionId(1), MessageSeq(5), 1};
  ReceiptHandle b{PartitionId(1), MessageSeq(5), 2};
  EXPECT_NE(a.Encode(), b.Encode());
}

TEST(ReceiptHandle, RejectsGarbageTruncationAndTampering) {
  std::string text = ReceiptHandle{PartitionId(1), MessageSeq(5), 1}.Encode();
  for (const std::string& bad : {std::string(), std::string("not a handle!"),
                                 text.substr(0, 20), text + "AA"}) {
    auto r = ReceiptHandle::Decode(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("receipt_handle"), std::string::npos);
  }
  std::string flipped = text;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ReceiptHandle::Decode(flipped).ok());
}

}  // namespace
}  // namespace sluice::broker
