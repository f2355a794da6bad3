// Bad input to Send: errors name the public field path and reason.
#include <string>

#include "absl/strings/match.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "gtest/gtest.h"
#include "tests/broker/partition/partition_test_util.h"

namespace sluice::broker::testing {
namespace {

constexpr int kInvalidArgument =
    static_cast<int>(absl::StatusCode::kInvalidArgument);

TEST(PartitionSendErrorsTest, OversizedBodyFailsOnlyItsEntry) {
  PartitionFixture f;
  v1::SendRequest r;
  for (int i = 0; i < 4; ++i)
    *r.add_entries() = TextEntry(std::to_string(i), "ok");
  r.mutable_entries(3)->set_body(std::string(300000, 'x'));
  auto out = f.Send(r);
  ASSERT_TRUE(out.ok()) << out.status();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out->results(i).status().code(), 0);
  const v1::EntryStatus& s = out->results(3).status();
  EXPECT_EQ(s.code(), kInvalidArgument);
  EXPECT_EQ(s.reason(), v1::ERROR_REASON_MESSAGE_TOO_LARGE);
  EXPECT_EQ(s.field(), "body");
  EXPECT_EQ(s.message(),
            "entries[3].body: 300000 bytes exceeds max_message_size 262144");
  EXPECT_TRUE(out->results(3).message_id().empty());
  EXPECT_EQ(f.sm().index().size(), 3u);
}

TEST(PartitionSendErrorsTest, FieldPathsUseRequestIndexes) {
  PartitionFixture f;
  v1::SendRequest r;
  *r.add_entries() = TextEntry("a", "ok");
  *r.add_entries() = TextEntry("b", "");
  auto out = f.Send(r, {5, 9});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(
      absl::StartsWith(out->results(1).status().message(), "entries[9].body:"))
      << out->results(1).status().message();
}

TEST(PartitionSendErrorsTest, RequestWideErrors) {
  PartitionFixture f;
  v1::SendRequest empty;
  auto out = f.Send(empty);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(ReasonOf(out.status()), v1::ERROR_REASON_EMPTY_BATCH);

  v1::SendRequest many;
  for (int i = 0; i < 101; ++i)
    *many.add_entries() = TextEntry(std::to_string(i), "x");
  out = f.Send(many);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(ReasonOf(out.status()), v1::ERROR_REASON_TOO_MANY_ENTRIES);

  v1::SendRequest twice;
  *twice.add_entries() = TextEntry("same", "x");
  *twice.add_entries() = TextEntry("same", "y");
  out = f.Send(twice);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(ReasonOf(out.status()), v1::ERROR_REASON_INVALID_ENTRY_ID);
  EXPECT_EQ(FieldOf(out.status()), "entries[1].entry_id");

  v1::SendRequest bad_id;
  *bad_id.add_entries() = TextEntry("no spaces", "x");
  out = f.Send(bad_id);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(FieldOf(out.status()), "entries[0].entry_id");
  EXPECT_EQ(f.proposer().Count(internal::Command::kSend), 0);
}

TEST(PartitionSendErrorsTest, EntryErrors) {
  internal::QueueAttributes attrs;
  attrs.set_retention_micros(absl::ToInt64Microseconds(absl::Hours(1)));
  PartitionFixture f(attrs);
  v1::SendRequest r;
  v1::SendEntry* e = r.add_entries();
  *e = TextEntry("attr", "x");
  (*e->mutable_attributes())["AWS.reserved"].set_string_value("v");
  e = r.add_entries();
  *e = TextEntry("novalue", "x");
  (*e->mutable_attributes())["k"].set_custom_type("t");
  e = r.add_entries();
  *e = TextEntry("number", "x");
  (*e->mutable_attributes())["n"].set_number_value("12abc");
  e = r.add_entries();
  *e = TextEntry("delay", "x");
  *e->mutable_delay() = ToProtoDuration(absl::Hours(1));
  e = r.add_entries();
  *e = TextEntry("partition", "x");
  e->set_partition(kPartition + 1);
  e = r.add_entries();
  *e = TextEntry("scheduled", "x");
  *e->mutable_deliver_at() =
      ToProtoTimestamp(f.wall().Now() + absl::Minutes(5));
  auto out = f.Send(r);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->results(0).status().field(), "attributes[AWS.reserved]");
  EXPECT_EQ(out->results(0).status().reason(),
            v1::ERROR_REASON_INVALID_MESSAGE_ATTRIBUTE);
  EXPECT_EQ(out->results(1).status().field(), "attributes[k]");
  EXPECT_EQ(out->results(2).status().field(), "attributes[n].string_value");
  EXPECT_TRUE(absl::StartsWith(out->results(2).status().message(),
                               "entries[2].attributes[n]"))
      << out->results(2).status().message();
  EXPECT_EQ(out->results(2).status().reason(),
            v1::ERROR_REASON_INVALID_MESSAGE_ATTRIBUTE);
  EXPECT_EQ(out->results(3).status().field(), "delay");
  EXPECT_EQ(out->results(3).status().reason(), v1::ERROR_REASON_INVALID_DELAY);
  EXPECT_EQ(out->results(4).status().reason(),
            v1::ERROR_REASON_WRONG_PARTITION);
  EXPECT_EQ(out->results(5).status().code(), 0);

  // The scheduled message is delayed for five minutes.
  EXPECT_FALSE(f.ops().HasVisible());
  f.Advance(absl::Minutes(5));
  EXPECT_TRUE(f.ops().HasVisible());
}

TEST(PartitionSendErrorsTest, FifoEntryErrors) {
  internal::QueueAttributes attrs;
  attrs.set_fifo(true);
  PartitionFixture f(attrs);
  v1::SendRequest r;
  *r.add_entries() = TextEntry("nogroup", "x");
  r.mutable_entries(0)->set_dedup_id("d");
  *r.add_entries() = TextEntry("nodedup", "x", "g");
  *r.add_entries() = TextEntry("delay", "x", "g");
  r.mutable_entries(2)->set_dedup_id("d");
  *r.mutable_entries(2)->mutable_delay() = ToProtoDuration(absl::Seconds(1));
  auto out = f.Send(r);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->results(0).status().reason(),
            v1::ERROR_REASON_GROUP_ID_REQUIRED);
  EXPECT_EQ(out->results(0).status().field(), "group_id");
  EXPECT_EQ(out->results(1).status().reason(),
            v1::ERROR_REASON_DEDUP_ID_REQUIRED);
  EXPECT_EQ(out->results(2).status().reason(), v1::ERROR_REASON_INVALID_DELAY);
  EXPECT_EQ(f.proposer().Count(internal::Command::kSend), 0);
}

TEST(PartitionSendErrorsTest, ReceiveArguments) {
  PartitionFixture f;
  v1::ReceiveRequest r;
  r.set_max_messages(101);
  auto out =
      Await<v1::ReceiveResponse>([&](auto done) { f.ops().Receive(r, done); });
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(FieldOf(out.status()), "max_messages");
  r.set_max_messages(1);
  *r.mutable_visibility_timeout() = ToProtoDuration(absl::Hours(13));
  out =
      Await<v1::ReceiveResponse>([&](auto done) { f.ops().Receive(r, done); });
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(FieldOf(out.status()), "visibility_timeout");
}

}  // namespace
}  // namespace sluice::broker::testing
