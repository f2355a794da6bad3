// One test per rule of FIFO queues (issue 4, point 3) and the per-group
// counts (points 6, 7).
#include <string>

#include "gtest/gtest.h"
#include "tests/broker/queue_test_util.h"

namespace sluice::broker {
namespace {

using testing::Entry;
using testing::FifoAttributes;
using testing::QueueHarness;

TEST(FifoQueue, OrderWithinGroupAndOneGroupInFlightAtATime) {
  QueueHarness q(FifoAttributes());
  q.Send("a1", "A", "d1");
  q.Send("b1", "B", "d2");
  q.Send("a2", "A", "d3");
  // One message per receive: groups in turn, and A's second waits for its
  // first.
  auto r1 = q.Receive(1);
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(q.Body(r1[0].seq), "a1");
  auto r2 = q.Receive(1);
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(q.Body(r2[0].seq), "b1");
  EXPECT_TRUE(q.Receive(10).empty()) << "A is blocked by a1";
  ASSERT_TRUE(q.Delete(r1[0]).ok());
  auto r3 = q.Receive(10);
  ASSERT_EQ(r3.size(), 1u);
  EXPECT_EQ(q.Body(r3[0].seq), "a2");
}

TEST(FifoQueue, BatchTakesConsecutiveMessagesOfOneGroup) {
  QueueHarness q(FifoAttributes());
  for (int i = 0; i < 3; ++i)
    q.Send("a" + std::to_string(i), "A", "a" + std::to_string(i));
  q.Send("b0", "B", "b0");
  auto got = q.Receive(10);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(q.Body(got[0].seq), "a0");
  EXPECT_EQ(q.Body(got[1].seq), "a1");
  EXPECT_EQ(q.Body(got[2].seq), "a2");
  EXPECT_EQ(q.Body(got[3].seq), "b0");
}

TEST(FifoQueue, ExpiredLeaseRedeliversTheSameHeadFirst) {
  QueueHarness q(FifoAttributes());
  q.Send("a1", "A", "1");
  q.Send("a2", "A", "2");
  auto got = q.Receive(1);
  q.Advance(absl::Seconds(30));
  auto again = q.Receive(1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq, got[0].seq);
  EXPECT_EQ(again[0].receive_count, 2u);
}

TEST(FifoQueue, ApplyRejectsAGrantOutOfGroupOrder) {
  QueueHarness q(FifoAttributes());
  q.Send("a1", "A", "1");
  q.Send("a2", "A", "2");
  internal::Command c;
  c.mutable_grant()->set_visibility_timeout_micros(30'000'000);
  auto* g = c.mutable_grant()->add_grants();
  g->set_sequence(2);
  g->set_expected_receive_count(0);
  EXPECT_TRUE(q.Apply(c).leased.empty());
}

TEST(FifoQueue, NextFreeGroupDoesNotScanBlockedGroups) {
  QueueHarness q(FifoAttributes(/*content_based=*/true));
  internal::Command c;
  for (int i = 0; i < 5000; ++i) {
    *c.mutable_send()->add_entries() = Entry("a" + std::to_string(i), "A");
  }
  q.Apply(c);
  auto head = q.Receive(1);  // A now blocked, 4999 behind its head
  ASSERT_EQ(head.size(), 1u);
  q.Send("b", "B");
  EXPECT_EQ(q.sm().Stats(q.log_time()).ready_groups, 1u);
  auto got = q.Receive(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(q.Body(got[0].seq), "b");
}

TEST(FifoQueue, DedupIdReturnsOriginalWithinWindow) {
  QueueHarness q(FifoAttributes());
  SendResult first = q.Send("x", "G", "dup");
  SendResult second = q.Send("y", "G", "dup");
  EXPECT_TRUE(second.status.ok());
  EXPECT_TRUE(second.duplicate);
  EXPECT_EQ(second.seq, first.seq);
  EXPECT_EQ(q.sm().index().size(), 1u);
  // The same id in another group is another message (dedup scope: group).
  EXPECT_FALSE(q.Send("z", "H", "dup").duplicate);
  q.Advance(absl::Minutes(5));
  SendResult later = q.Send("y", "G", "dup");
  EXPECT_FALSE(later.duplicate) << "window passed";
}

TEST(FifoQueue, DedupOfDeletedMessageStillHoldsInWindow) {
  QueueHarness q(FifoAttributes());
  SendResult first = q.Send("x", "G", "d");
  auto got = q.Receive(1);
  ASSERT_TRUE(q.Delete(got[0]).ok());
  SendResult again = q.Send("x", "G", "d");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.seq, first.seq);
  EXPECT_TRUE(q.Receive(1).empty());
}

TEST(FifoQueue, ContentBasedDedupHashesTheBody) {
  QueueHarness q(FifoAttributes(/*content_based=*/true));
  SendResult first = q.Send("same body", "G");
  SendResult second = q.Send("same body", "G");
  EXPECT_TRUE(second.duplicate);
  EXPECT_EQ(second.seq, first.seq);
  EXPECT_FALSE(q.Send("other body", "G").duplicate);
}

TEST(FifoQueue, ConfigurableDedupWindow) {
  internal::QueueAttributes a = FifoAttributes();
  a.set_dedup_window_micros(absl::ToInt64Microseconds(absl::Seconds(10)));
  QueueHarness q(a);
  q.Send("x", "G", "d");
  q.Advance(absl::Seconds(9));
  EXPECT_TRUE(q.Send("x", "G", "d").duplicate);
  q.Advance(absl::Seconds(1));
  EXPECT_FALSE(q.Send("x", "G", "d").duplicate);
}

TEST(FifoQueue, QueueDelayKeepsGroupOrder) {
  internal::QueueAttributes a = FifoAttributes();
  a.set_delay_micros(absl::ToInt64Microseconds(absl::Seconds(5)));
  QueueHarness q(a);
  q.Send("a1", "A", "1");
  q.Advance(absl::Seconds(1));
  q.Send("a2", "A", "2");
  q.Advance(absl::Seconds(4));
  auto got = q.Receive(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(q.Body(got[0].seq), "a1");
}

TEST(FifoQueue, PerGroupCounts) {
  QueueHarness q(FifoAttributes(true));
  q.Send("a1", "A");
  q.Send("a2", "A");
  q.Send("b1", "B");
  q.Receive(1);
  auto a = q.sm().GroupStats("A");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->messages, 2u);
  EXPECT_EQ(a->in_flight, 1u);
  auto b = q.sm().GroupStats("B");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->in_flight, 0u);
  EXPECT_FALSE(q.sm().GroupStats("C").has_value());
  QueueStats s = q.sm().Stats(q.log_time());
  EXPECT_EQ(s.groups, 2u);
  EXPECT_EQ(s.ready_groups, 1u);
}

TEST(FifoQueue, RestartKeepsGroupLocksAndOrder) {
  QueueHarness q(FifoAttributes(true));
  q.Send("a1", "A");
  q.Send("a2", "A");
  q.Send("b1", "B");
  auto got = q.Receive(1);
  ASSERT_EQ(q.Body(got[0].seq), "a1");
  const std::string digest = *q.sm().Digest();
  q.Reopen();
  EXPECT_EQ(*q.sm().Digest(), digest);
  auto next = q.Receive(10);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(q.Body(next[0].seq), "b1");
  ASSERT_TRUE(q.Delete(got[0]).ok());
  next = q.Receive(10);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(q.Body(next[0].seq), "a2");
}

}  // namespace
}  // namespace sluice::broker
