// Idempotent producers (issue 4, point 2): a producer id and per-partition
// sequence numbers make client retries harmless, in standard and FIFO queues,
// with memory per producer only.
#include "gtest/gtest.h"
#include "tests/broker/queue_test_util.h"

namespace sluice::broker {
namespace {

using testing::Entry;
using testing::FifoAttributes;
using testing::QueueHarness;

internal::Command Batch(const std::string& producer, uint64_t first,
                        std::vector<std::string> bodies) {
  internal::Command c;
  c.mutable_send()->set_producer_id(producer);
  c.mutable_send()->set_first_producer_sequence(first);
  for (const auto& b : bodies) *c.mutable_send()->add_entries() = Entry(b);
  return c;
}

TEST(IdempotentProducer, RetriedBatchReturnsTheOriginalIds) {
  QueueHarness q;
  ApplyResult first = q.Apply(Batch("p1", 1, {"a", "b"}));
  ASSERT_EQ(first.sends.size(), 2u);
  ApplyResult retry = q.Apply(Batch("p1", 1, {"a", "b"}));
  ASSERT_EQ(retry.sends.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(retry.sends[i].duplicate);
    EXPECT_EQ(retry.sends[i].seq, first.sends[i].seq);
  }
  EXPECT_EQ(q.sm().index().size(), 2u);
}

TEST(IdempotentProducer, OlderBatchIsDuplicateWithUnknownId) {
  QueueHarness q;
  q.Apply(Batch("p1", 1, {"a"}));
  q.Apply(Batch("p1", 2, {"b"}));
  ApplyResult old = q.Apply(Batch("p1", 1, {"a"}));
  EXPECT_TRUE(old.sends[0].status.ok());
  EXPECT_TRUE(old.sends[0].duplicate);
  EXPECT_EQ(old.sends[0].seq, MessageSeq(0));
  EXPECT_EQ(q.sm().index().size(), 2u);
}

TEST(IdempotentProducer, ProducersAreIndependentAndGapsAreAllowed) {
  QueueHarness q;
  q.Apply(Batch("p1", 1, {"a"}));
  EXPECT_FALSE(q.Apply(Batch("p2", 1, {"a"})).sends[0].duplicate);
  EXPECT_FALSE(q.Apply(Batch("p1", 5, {"c"})).sends[0].duplicate);
  EXPECT_EQ(q.sm().index().size(), 3u);
}

TEST(IdempotentProducer, PartlyRetriedBatchAppliesOnlyTheNewEntries) {
  QueueHarness q;
  q.Apply(Batch("p1", 1, {"a", "b"}));
  ApplyResult r = q.Apply(Batch("p1", 2, {"b", "c"}));
  EXPECT_TRUE(r.sends[0].duplicate);
  EXPECT_FALSE(r.sends[1].duplicate);
  EXPECT_EQ(q.sm().index().size(), 3u);
}

TEST(IdempotentProducer, SurvivesRestart) {
  QueueHarness q;
  ApplyResult first = q.Apply(Batch("p1", 7, {"a"}));
  q.Reopen();
  ApplyResult retry = q.Apply(Batch("p1", 7, {"a"}));
  EXPECT_TRUE(retry.sends[0].duplicate);
  EXPECT_EQ(retry.sends[0].seq, first.sends[0].seq);
}

TEST(IdempotentProducer, WorksOnFifoQueuesToo) {
  QueueHarness q(FifoAttributes(true));
  internal::Command c = Batch("p1", 1, {});
  *c.mutable_send()->add_entries() = Entry("x", "G");
  ApplyResult first = q.Apply(c);
  ASSERT_TRUE(first.sends[0].status.ok());
  q.Advance(absl::Minutes(10));  // past the dedup window
  ApplyResult retry = q.Apply(c);
  EXPECT_TRUE(retry.sends[0].duplicate);
  EXPECT_EQ(q.sm().index().size(), 1u);
}

TEST(IdempotentProducer, IdleProducersAreForgottenAfterRetention) {
  internal::QueueAttributes a;
  a.set_retention_micros(absl::ToInt64Microseconds(absl::Minutes(1)));
  QueueHarness q(a);
  q.Apply(Batch("p1", 1, {"a"}));
  q.Advance(absl::Minutes(2));
  internal::Command expire;
  expire.mutable_expire_retention();
  q.Apply(expire);
  EXPECT_FALSE(q.Apply(Batch("p1", 1, {"a"})).sends[0].duplicate);
}

// The leader proposes ExpireRetention only when something is due (an idle
// partition stays quiet): an idle producer is something.
TEST(IdempotentProducer, NextRetentionDueCountsMessagesAndIdleProducers) {
  internal::QueueAttributes a;
  a.set_retention_micros(absl::ToInt64Microseconds(absl::Minutes(1)));
  QueueHarness q(a);
  EXPECT_FALSE(q.sm().NextRetentionDue().has_value());  // nothing stored
  const absl::Time start = q.log_time();
  q.Apply(Batch("p1", 1, {"a"}));
  EXPECT_EQ(q.sm().NextRetentionDue(), start + absl::Minutes(1));
  q.Advance(absl::Seconds(10));
  std::vector<LeasedMessage> received = q.Receive(1);
  ASSERT_EQ(received.size(), 1u);
  ASSERT_TRUE(q.Delete(received[0]).ok());
  // The message is gone; the producer stays until idle for the retention.
  EXPECT_EQ(q.sm().NextRetentionDue(), start + absl::Minutes(1));
  q.Advance(absl::Minutes(1));
  internal::Command expire;
  expire.mutable_expire_retention();
  q.Apply(expire);
  EXPECT_FALSE(q.sm().NextRetentionDue().has_value());
}

TEST(IdempotentProducer, RejectedEntryStaysRejectedOnRetry) {
  QueueHarness q;
  internal::Command c = Batch("p1", 1, {"ok", ""});
  ApplyResult first = q.Apply(c);
  EXPECT_TRUE(first.sends[0].status.ok());
  EXPECT_EQ(first.sends[1].status.code(), absl::StatusCode::kInvalidArgument);
  ApplyResult retry = q.Apply(c);
  EXPECT_TRUE(retry.sends[0].duplicate);
  EXPECT_EQ(retry.sends[1].status.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::broker
