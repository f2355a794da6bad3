// Bad inputs (issue 4, point 10): INVALID_ARGUMENT naming the field, and no
// state change.
#include "broker/queue/validation.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/broker/queue_test_util.h"

namespace sluice::broker {
namespace {

using testing::Entry;
using testing::FifoAttributes;
using testing::QueueHarness;

void ExpectInvalid(const absl::Status& s, const std::string& field) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(field), std::string::npos)
      << "'" << s.message() << "' does not name " << field;
}

SendResult SendEntry(QueueHarness& q, const internal::SendEntry& e) {
  internal::Command c;
  *c.mutable_send()->add_entries() = e;
  ApplyResult r = q.Apply(c);
  return r.sends.at(0);
}

internal::MessageAttribute Attr(const std::string& name,
                                const std::string& type,
                                const std::string& value) {
  internal::MessageAttribute a;
  a.set_name(name);
  a.set_data_type(type);
  if (type.starts_with("Binary")) {
    a.set_binary_value(value);
  } else {
    a.set_string_value(value);
  }
  return a;
}

TEST(Validation, OversizeBody) {
  internal::QueueAttributes a;
  a.set_max_message_size(1024);
  QueueHarness q(a);
  ExpectInvalid(SendEntry(q, Entry(std::string(1025, 'x'))).status,
                "entries[0].body");
  EXPECT_TRUE(SendEntry(q, Entry(std::string(1024, 'x'))).status.ok());
  // Attributes count towards the size.
  internal::SendEntry e = Entry(std::string(1000, 'x'));
  *e.add_attributes() = Attr("k", "String", std::string(100, 'v'));
  ExpectInvalid(SendEntry(q, e).status, "entries[0].body");
  EXPECT_EQ(q.sm().index().size(), 1u);
}

TEST(Validation, EmptyBody) {
  QueueHarness q;
  ExpectInvalid(SendEntry(q, Entry("")).status, "entries[0].body");
}

TEST(Validation, TooManyAttributes) {
  QueueHarness q;
  internal::SendEntry e = Entry("x");
  for (int i = 0; i < 11; ++i) {
    *e.add_attributes() = Attr("a" + std::to_string(i), "String", "v");
  }
  ExpectInvalid(SendEntry(q, e).status, "entries[0].attributes");
  e.mutable_attributes()->RemoveLast();
  EXPECT_TRUE(SendEntry(q, e).status.ok());
}

TEST(Validation, BadAttributeNamesTypesAndValues) {
  QueueHarness q;
  const std::vector<std::pair<internal::MessageAttribute, std::string>> bad = {
      {Attr("", "String", "v"), "attributes[0].name"},
      {Attr("has space", "String", "v"), "attributes[0].name"},
      {Attr(".dot", "String", "v"), "attributes[0].name"},
      {Attr("a..b", "String", "v"), "attributes[0].name"},
      {Attr("AWS.thing", "String", "v"), "attributes[0].name"},
      {Attr("amazon.x", "String", "v"), "attributes[0].name"},
      {Attr(std::string(257, 'n'), "String", "v"), "attributes[0].name"},
      {Attr("n", "Blob", "v"), "attributes[0].data_type"},
      {Attr("n", "Number.", "1"), "attributes[0].data_type"},
      {Attr("n", "Number", "12abc"), "attributes[0].string_value"},
      {Attr("n", "Number", std::string(39, '9')), "attributes[0].string_value"},
      {Attr("n", "String", ""), "attributes[0].string_value"},
  };
  for (const auto& [attr, field] : bad) {
    internal::SendEntry e = Entry("x");
    *e.add_attributes() = attr;
    ExpectInvalid(SendEntry(q, e).status, field);
  }
  internal::SendEntry binary_as_string = Entry("x");
  internal::MessageAttribute b = Attr("n", "String", "v");
  b.set_data_type("Binary");
  *binary_as_string.add_attributes() = b;
  ExpectInvalid(SendEntry(q, binary_as_string).status,
                "attributes[0].binary_value");
  internal::SendEntry dup = Entry("x");
  *dup.add_attributes() = Attr("n", "String", "v");
  *dup.add_attributes() = Attr("n", "String", "w");
  ExpectInvalid(SendEntry(q, dup).status, "attributes[1].name");
  EXPECT_EQ(q.sm().index().size(), 0u);
}

TEST(Validation, GoodAttributesAreKept) {
  QueueHarness q;
  internal::SendEntry e = Entry("x");
  *e.add_attributes() = Attr("str", "String", "hello");
  *e.add_attributes() = Attr("num", "Number.int", "-12.5e3");
  *e.add_attributes() = Attr("bin", "Binary", std::string("\0\1\2", 3));
  SendResult r = SendEntry(q, e);
  ASSERT_TRUE(r.status.ok()) << r.status;
  auto m = q.sm().ReadMessage(r.seq);
  ASSERT_EQ(m->body.attributes_size(), 3);
  EXPECT_EQ(m->body.attributes(2).binary_value(), std::string("\0\1\2", 3));
}

TEST(Validation, MissingGroupOrDedupIdOnFifo) {
  QueueHarness q(FifoAttributes());
  ExpectInvalid(SendEntry(q, Entry("x", "", "d")).status,
                "entries[0].group_id");
  ExpectInvalid(SendEntry(q, Entry("x", "G", "")).status,
                "entries[0].dedup_id");
  ExpectInvalid(SendEntry(q, Entry("x", std::string(129, 'g'), "d")).status,
                "entries[0].group_id");
  ExpectInvalid(SendEntry(q, Entry("x", "G", "bad id")).status,
                "entries[0].dedup_id");
  internal::SendEntry delayed = Entry("x", "G", "d");
  delayed.set_delay_micros(1);
  ExpectInvalid(SendEntry(q, delayed).status, "entries[0].delay");
}

// Standard queues take dedup ids too (proto SendEntry.dedup_id, DESIGN.md);
// the id follows the same rules as on FIFO queues.
TEST(Validation, DedupIdOnStandardQueue) {
  QueueHarness q;
  EXPECT_TRUE(SendEntry(q, Entry("x", "", "d")).status.ok());
  ExpectInvalid(SendEntry(q, Entry("x", "", "no spaces")).status,
                "entries[0].dedup_id");
}

TEST(Validation, DelayOutOfRange) {
  QueueHarness q;
  internal::SendEntry e = Entry("x");
  e.set_delay_micros(-1);
  ExpectInvalid(SendEntry(q, e).status, "entries[0].delay");
  e.set_delay_micros(absl::ToInt64Microseconds(absl::Hours(24 * 5)));
  ExpectInvalid(SendEntry(q, e).status, "entries[0].delay");  // > 4 days
}

TEST(Validation, OutOfRangeTimeouts) {
  QueueHarness q;
  q.Send("x");
  internal::Command grant;
  grant.mutable_grant()->set_visibility_timeout_micros(
      absl::ToInt64Microseconds(absl::Hours(13)));
  auto* g = grant.mutable_grant()->add_grants();
  g->set_sequence(1);
  ApplyResult r = q.Apply(grant);
  ExpectInvalid(r.status, "visibility_timeout");
  EXPECT_TRUE(r.leased.empty());
  auto got = q.Receive(1);
  ASSERT_EQ(got.size(), 1u);
  ExpectInvalid(q.Nack(got[0], absl::Hours(13)), "entries[0].delay");
  ExpectInvalid(q.ChangeVisibility(got[0], -absl::Seconds(1)),
                "changes[0].visibility_timeout");
}

TEST(Validation, BadQueueAttributes) {
  QueueHarness q;
  auto check = [&](auto mutate, const std::string& field) {
    internal::QueueAttributes a;
    mutate(a);
    ExpectInvalid(q.Configure(a).status, field);
  };
  check([](auto& a) { a.set_visibility_timeout_micros(-1); },
        "visibility_timeout");
  check(
      [](auto& a) {
        a.set_delay_micros(absl::ToInt64Microseconds(absl::Minutes(16)));
      },
      "delay");
  check(
      [](auto& a) {
        a.set_retention_micros(absl::ToInt64Microseconds(absl::Seconds(59)));
      },
      "retention");
  check(
      [](auto& a) {
        a.set_retention_micros(absl::ToInt64Microseconds(absl::Hours(24 * 15)));
      },
      "retention");
  check([](auto& a) { a.set_max_message_size(1023); }, "max_message_size");
  check([](auto& a) { a.set_max_message_size(1024 * 1024 + 1); },
        "max_message_size");
  check(
      [](auto& a) {
        a.mutable_redrive_policy()->set_dead_letter_target("d");
        a.mutable_redrive_policy()->set_max_receive_count(1001);
      },
      "redrive_policy.max_receive_count");
  check([](auto& a) { a.mutable_redrive_policy()->set_max_receive_count(3); },
        "redrive_policy.dead_letter_target");
  check([](auto& a) { a.set_content_based_dedup(true); },
        "content_based_dedup");
  EXPECT_EQ(q.sm().attributes().visibility_timeout_micros(), 30'000'000);
}

TEST(Validation, ReceiptHandleGarbageIsInvalidArgument) {
  QueueHarness q;
  ExpectInvalid(q.Delete(std::string("garbage")), "receipt_handle");
}

TEST(Validation, EmptyCommandIsInvalidArgument) {
  QueueHarness q;
  ExpectInvalid(q.Apply(internal::Command()).status, "command");
}

}  // namespace
}  // namespace sluice::broker
