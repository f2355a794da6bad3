// PartitionOps by receipt handle: nack with delay, lease extension,
// ChangeVisibility per-entry results, garbage and foreign handles.
#include <string>
#include <vector>

#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "broker/partition/public_ids.h"
#include "gtest/gtest.h"
#include "tests/broker/partition/partition_test_util.h"

namespace sluice::broker::testing {
namespace {

constexpr int kFailedPrecondition =
    static_cast<int>(absl::StatusCode::kFailedPrecondition);
constexpr int kInvalidArgument =
    static_cast<int>(absl::StatusCode::kInvalidArgument);

std::string ReceiveOne(PartitionFixture& f, absl::Duration timeout) {
  auto r = f.Receive(1, timeout);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || r->messages_size() != 1) return "";
  return r->messages(0).receipt_handle();
}

TEST(PartitionLeaseTest, NackWithDelay) {
  PartitionFixture f;
  f.SendBodies({"m"});
  const std::string handle = ReceiveOne(f, absl::Seconds(30));
  auto nacked = f.Nack({handle}, absl::Seconds(10));
  ASSERT_TRUE(nacked.ok()) << nacked.status();
  EXPECT_EQ(nacked->status().code(), 0);
  ASSERT_EQ(nacked->receipt_results_size(), 1);
  EXPECT_EQ(nacked->receipt_results(0).receipt_handle(), handle);

  EXPECT_FALSE(f.ops().HasVisible());
  ASSERT_TRUE(f.ops().NextVisibleAt().has_value());
  EXPECT_EQ(*f.ops().NextVisibleAt(), f.clock().Now() + absl::Seconds(10));
  f.Advance(absl::Seconds(9));
  EXPECT_FALSE(f.ops().HasVisible());
  f.Advance(absl::Seconds(1));
  EXPECT_TRUE(f.ops().HasVisible());
  auto again = f.Receive(1);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->messages_size(), 1);
  EXPECT_EQ(again->messages(0).receive_count(), 2u);

  // A nack without delay releases at once (no retry policy).
  ASSERT_TRUE(f.Nack({again->messages(0).receipt_handle()}, std::nullopt).ok());
  EXPECT_TRUE(f.ops().HasVisible());
}

TEST(PartitionLeaseTest, ExtendLease) {
  PartitionFixture f;
  f.SendBodies({"m"});
  const std::string handle = ReceiveOne(f, absl::Seconds(30));
  f.Advance(absl::Seconds(20));
  auto extended = f.Extend({handle}, absl::Seconds(60));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->status().code(), 0);
  EXPECT_EQ(FromProtoTimestamp(extended->receipt_results(0).lease_deadline()),
            f.wall().Now() + absl::Seconds(60));
  f.Advance(absl::Seconds(59));
  EXPECT_FALSE(f.ops().HasVisible());
  f.Advance(absl::Seconds(1));
  EXPECT_TRUE(f.ops().HasVisible());

  // The lease has run out: extending it is refused, the handle stays current.
  extended = f.Extend({handle}, absl::Seconds(60));
  ASSERT_TRUE(extended.ok());
  EXPECT_EQ(extended->status().code(), kFailedPrecondition);
  EXPECT_EQ(extended->receipt_results(0).status().reason(),
            v1::ERROR_REASON_MESSAGE_NOT_IN_FLIGHT);
  auto deleted = f.Delete({handle});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->results(0).status().code(), 0);
}

TEST(PartitionLeaseTest, ChangeVisibilityPerEntry) {
  PartitionFixture f;
  f.SendBodies({"a", "b"});
  auto got = f.Receive(2, absl::Seconds(5));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->messages_size(), 2);
  const std::string a = got->messages(0).receipt_handle();
  const std::string b = got->messages(1).receipt_handle();
  ASSERT_TRUE(f.Delete({b}).ok());

  auto changed = f.ChangeVisibility({a, b, "garbage"}, absl::Seconds(100));
  ASSERT_TRUE(changed.ok()) << changed.status();
  ASSERT_EQ(changed->results_size(), 3);
  EXPECT_EQ(changed->results(0).status().code(), 0);
  EXPECT_EQ(FromProtoTimestamp(changed->results(0).lease_deadline()),
            f.wall().Now() + absl::Seconds(100));
  EXPECT_EQ(changed->results(1).status().code(),
            static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_FALSE(changed->results(1).has_lease_deadline());
  EXPECT_EQ(changed->results(2).status().code(), kInvalidArgument);
  EXPECT_EQ(changed->results(2).status().reason(),
            v1::ERROR_REASON_RECEIPT_HANDLE_INVALID);
  EXPECT_EQ(changed->results(2).status().field(), "receipt_handle");

  f.Advance(absl::Seconds(99));
  EXPECT_FALSE(f.ops().HasVisible());

  // Visibility 0 releases at once.
  changed = f.ChangeVisibility({a}, absl::ZeroDuration());
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->results(0).status().code(), 0);
  EXPECT_TRUE(f.ops().HasVisible());
}

TEST(PartitionLeaseTest, ChangeVisibilityRequiresTimeout) {
  PartitionFixture f;
  v1::ChangeVisibilityRequest r;
  r.add_entries()->set_entry_id("x");
  r.mutable_entries(0)->set_receipt_handle("h");
  auto out = Await<v1::ChangeVisibilityResponse>(
      [&](auto done) { f.ops().ChangeVisibility(r, done); });
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(FieldOf(out.status()), "entries[0].visibility_timeout");
  *r.mutable_entries(0)->mutable_visibility_timeout() =
      ToProtoDuration(absl::Hours(13));
  out = Await<v1::ChangeVisibilityResponse>(
      [&](auto done) { f.ops().ChangeVisibility(r, done); });
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PartitionLeaseTest, GarbageReceiptHandle) {
  for (const std::string& garbage :
       {std::string(""), std::string("garbage"), std::string("!!!!"),
        std::string(200, 'A')}) {
    auto p = ReceiptHandlePartition(garbage, kQueueId);
    ASSERT_FALSE(p.ok()) << garbage;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ReasonOf(p.status()), v1::ERROR_REASON_RECEIPT_HANDLE_INVALID);
    EXPECT_EQ(FieldOf(p.status()), "receipt_handle");
  }
  PublicReceipt r{kQueueId, 9, MessageSeq(5), 2};
  const std::string handle = r.Encode();
  EXPECT_LE(handle.size(), 1024u);
  auto p = ReceiptHandlePartition(handle, kQueueId);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, 9u);
  auto decoded = PublicReceipt::Decode(handle);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, r);
  // Another queue (e.g. deleted and recreated under the same name).
  EXPECT_FALSE(ReceiptHandlePartition(handle, kQueueId + 1).ok());
  // One flipped character breaks the checksum.
  std::string typo = handle;
  typo[10] = typo[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ReceiptHandlePartition(typo, kQueueId).ok());
}

TEST(PartitionLeaseTest, DeleteWithForeignOrGarbageHandle) {
  PartitionFixture f;
  f.SendBodies({"m"});
  const std::string handle = ReceiveOne(f, absl::Seconds(30));
  auto decoded = PublicReceipt::Decode(handle);
  ASSERT_TRUE(decoded.ok());
  PublicReceipt other = *decoded;
  other.partition = kPartition + 1;
  auto out = f.Delete({"garbage", other.Encode(), handle});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->results(0).status().code(), kInvalidArgument);
  EXPECT_EQ(out->results(0).status().reason(),
            v1::ERROR_REASON_RECEIPT_HANDLE_INVALID);
  EXPECT_EQ(out->results(1).status().code(), kInvalidArgument);
  EXPECT_EQ(out->results(2).status().code(), 0);
  EXPECT_EQ(f.sm().index().size(), 0u);
}

TEST(PartitionLeaseTest, AckStreamItemReportsFirstFailure) {
  PartitionFixture f;
  f.SendBodies({"m"});
  const std::string handle = ReceiveOne(f, absl::Seconds(30));
  v1::StreamAck ack;
  ack.add_receipt_handles("garbage");
  ack.add_receipt_handles(handle);
  auto out =
      Await<v1::StreamItemResult>([&](auto done) { f.ops().Ack(ack, done); });
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->status().code(), kInvalidArgument);
  ASSERT_EQ(out->receipt_results_size(), 2);
  EXPECT_EQ(out->receipt_results(1).status().code(), 0);
  EXPECT_EQ(f.sm().index().size(), 0u);

  v1::StreamAck empty;
  out =
      Await<v1::StreamItemResult>([&](auto done) { f.ops().Ack(empty, done); });
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(ReasonOf(out.status()), v1::ERROR_REASON_EMPTY_BATCH);
}

}  // namespace
}  // namespace sluice::broker::testing
