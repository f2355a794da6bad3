// One test per rule of standard queues (issue 4, points 1, 2, 4, 6, 7, 8).
#include <string>

#include "broker/queue/keys.h"
#include "broker/queue/receipt_handle.h"
#include "gtest/gtest.h"
#include "leveldb/write_batch.h"
#include "tests/broker/queue_test_util.h"

namespace sluice::broker {
namespace {

using testing::QueueHarness;

TEST(StandardQueue, ReceiveLeasesForDefaultVisibilityTimeout) {
  QueueHarness q;
  SendResult sent = q.Send("hello");
  ASSERT_TRUE(sent.status.ok());
  EXPECT_EQ(sent.seq, MessageSeq(1));
  auto got = q.Receive(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].receive_count, 1u);
  EXPECT_EQ(q.Body(got[0].seq), "hello");
  EXPECT_TRUE(q.Receive(10).empty()) << "in flight";
  q.Advance(absl::Seconds(29));
  EXPECT_TRUE(q.Receive(10).empty()) << "30 s default";
  q.Advance(absl::Seconds(1));
  auto again = q.Receive(10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].receive_count, 2u);
}

// proto: "Standard: optional (beyond SQS)" dedup ids, within dedup_window.
TEST(StandardQueue, DedupIdSuppressesARepeatWithinTheWindow) {
  QueueHarness q;
  SendResult first = q.Send("a", "", "order-17");
  ASSERT_TRUE(first.status.ok()) << first.status;
  SendResult again = q.Send("a changed body", "label", "order-17");
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.seq, first.seq);
  SendResult other = q.Send("b", "", "order-18");
  EXPECT_FALSE(other.duplicate);
  EXPECT_NE(other.seq, first.seq);
  SendResult no_id = q.Send("a");
  EXPECT_FALSE(no_id.duplicate) << "without an id nothing is deduplicated";
  EXPECT_EQ(q.Receive(10).size(), 3u);
  q.Advance(absl::Minutes(6));  // past the default 5-minute window
  SendResult later = q.Send("a", "", "order-17");
  EXPECT_FALSE(later.duplicate);
  EXPECT_EQ(q.Send("x", "", "bad id with spaces").status.code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(StandardQueue, PerReceiveVisibilityTimeoutOverridesDefault) {
  QueueHarness q;
  q.Send("a");
  ASSERT_EQ(q.Receive(1, absl::Seconds(5)).size(), 1u);
  q.Advance(absl::Seconds(5));
  EXPECT_EQ(q.Receive(1).size(), 1u);
}

TEST(StandardQueue, ZeroVisibilityTimeoutLeavesMessageVisible) {
  QueueHarness q;
  q.Send("a");
  ASSERT_EQ(q.Receive(1, absl::ZeroDuration()).size(), 1u);
  auto again = q.Receive(1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].receive_count, 2u);
}

TEST(StandardQueue, ReceiveHandsOutOldestFirstUpToMax) {
  QueueHarness q;
  for (int i = 0; i < 5; ++i) q.Send("m" + std::to_string(i));
  auto got = q.Receive(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].seq, MessageSeq(1));
  EXPECT_EQ(got[2].seq, MessageSeq(3));
  EXPECT_EQ(q.Receive(10).size(), 2u);
}

TEST(StandardQueue, DeleteWithLatestHandleIsIdempotent) {
  QueueHarness q;
  q.Send("a");
  auto got = q.Receive(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(q.Delete(got[0]).ok());
  EXPECT_TRUE(q.Delete(got[0]).ok()) << "deleting again succeeds";
  q.Advance(absl::Hours(1));
  EXPECT_TRUE(q.Receive(1).empty());
}

TEST(StandardQueue, StaleHandleFailsPreconditionAndChangesNothing) {
  QueueHarness q;
  q.Send("a");
  auto first = q.Receive(1);
  q.Advance(absl::Seconds(30));
  auto second = q.Receive(1);
  ASSERT_EQ(second.size(), 1u);
  const std::string before = *q.sm().Digest();
  absl::Status s = q.Delete(first[0]);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(q.ChangeVisibility(first[0], absl::ZeroDuration()).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Nack(first[0]).code(), absl::StatusCode::kFailedPrecondition);
  // Only the applied index and log time moved.
  EXPECT_EQ(q.sm().index().size(), 1u);
  EXPECT_TRUE(q.Receive(1).empty()) << "still leased by the second receive";
  EXPECT_NE(before, "");
  EXPECT_TRUE(q.Delete(second[0]).ok());
  EXPECT_EQ(q.sm().index().size(), 0u);
}

TEST(StandardQueue, DeleteAfterLeaseRanOutStillWorksIfNotReceivedAgain) {
  QueueHarness q;
  q.Send("a");
  auto got = q.Receive(1);
  q.Advance(absl::Minutes(5));
  EXPECT_TRUE(q.Delete(got[0]).ok());
  EXPECT_TRUE(q.Receive(1).empty());
}

TEST(StandardQueue, ChangeVisibilityRestartsTheLeaseFromNow) {
  QueueHarness q;
  q.Send("a");
  auto got = q.Receive(1);
  q.Advance(absl::Seconds(20));
  ASSERT_TRUE(q.ChangeVisibility(got[0], absl::Seconds(60)).ok());
  q.Advance(absl::Seconds(59));
  EXPECT_TRUE(q.Receive(1).empty());
  q.Advance(absl::Seconds(1));
  EXPECT_EQ(q.Receive(1).size(), 1u);
}

TEST(StandardQueue, ChangeVisibilityToZeroReleasesNow) {
  QueueHarness q;
  q.Send("a");
  auto got = q.Receive(1);
  ASSERT_TRUE(q.ChangeVisibility(got[0], absl::ZeroDuration()).ok());
  EXPECT_EQ(q.Receive(1).size(), 1u);
}

TEST(StandardQueue, EachExtensionMayBeTwelveHours) {
  QueueHarness q;
  q.Send("a");
  auto got = q.Receive(1);
  for (int i = 0; i < 3; ++i) {
    q.Advance(absl::Hours(11));
    ASSERT_TRUE(q.ChangeVisibility(got[0], absl::Hours(12)).ok());
  }
  EXPECT_TRUE(q.Receive(1).empty());
  absl::Status s =
      q.ChangeVisibility(got[0], absl::Hours(12) + absl::Seconds(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("visibility_timeout"), std::string::npos) << s;
}

TEST(StandardQueue, ChangeVisibilityOfMessageNotInFlightFails) {
  QueueHarness q;
  q.Send("a");
  auto got = q.Receive(1);
  ASSERT_TRUE(q.ChangeVisibility(got[0], absl::ZeroDuration()).ok());
  EXPECT_EQ(q.ChangeVisibility(got[0], absl::Seconds(5)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(StandardQueue, ReceiveCountAndFirstReceiveTimeAreRecorded) {
  QueueHarness q;
  q.Send("a");
  const absl::Time first_time = q.log_time();
  q.Receive(1, absl::Seconds(1));
  q.Advance(absl::Seconds(1));
  auto got = q.Receive(1);
  ASSERT_EQ(got.size(), 1u);
  auto m = q.sm().ReadMessage(got[0].seq);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->state.receive_count(), 2u);
  ASSERT_TRUE(m->first_receive.has_value());
  EXPECT_EQ(*m->first_receive, first_time);
  EXPECT_EQ(m->meta.sent_micros(), absl::ToUnixMicros(first_time));
}

TEST(StandardQueue, QueueDelayHoldsNewMessages) {
  internal::QueueAttributes a;
  a.set_delay_micros(absl::ToInt64Microseconds(absl::Seconds(10)));
  QueueHarness q(a);
  q.Send("a");
  EXPECT_EQ(q.sm().Stats(q.log_time()).delayed, 1u);
  q.Advance(absl::Seconds(9));
  EXPECT_TRUE(q.Receive(1).empty());
  q.Advance(absl::Seconds(1));
  EXPECT_EQ(q.Receive(1).size(), 1u);
}

TEST(StandardQueue, PerMessageDelayOverridesQueueDelay) {
  internal::QueueAttributes a;
  a.set_delay_micros(absl::ToInt64Microseconds(absl::Seconds(10)));
  QueueHarness q(a);
  q.Send("late", "", "", absl::Seconds(20));
  q.Send("now", "", "", absl::ZeroDuration());
  auto got = q.Receive(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(q.Body(got[0].seq), "now");
  q.Advance(absl::Seconds(20));
  EXPECT_EQ(q.Receive(10).size(), 1u);
}

TEST(StandardQueue, ScheduledDeliveryBeyondFifteenMinutesIsCancellable) {
  QueueHarness q;
  SendResult s1 = q.Send("in two days", "", "", absl::Hours(48));
  SendResult s2 = q.Send("in one hour", "", "", absl::Hours(1));
  ASSERT_TRUE(s1.status.ok()) << s1.status;
  internal::Command c;
  c.mutable_cancel_scheduled()->add_sequences(s1.seq.value());
  ApplyResult r = q.Apply(c);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_TRUE(r.entries[0].ok());
  q.Advance(absl::Hours(49));
  auto got = q.Receive(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, s2.seq);
  // Received: no longer cancellable.
  internal::Command again;
  again.mutable_cancel_scheduled()->add_sequences(s2.seq.value());
  EXPECT_EQ(q.Apply(again).entries[0].code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(StandardQueue, RetentionExpiresMessagesEvenInFlight) {
  internal::QueueAttributes a;
  a.set_retention_micros(absl::ToInt64Microseconds(absl::Seconds(60)));
  QueueHarness q(a);
  q.Send("old");
  q.Receive(1, absl::Hours(1));
  q.Advance(absl::Seconds(30));
  q.Send("young");
  q.Advance(absl::Seconds(31));
  internal::Command c;
  c.mutable_expire_retention();
  q.Apply(c);
  EXPECT_EQ(q.sm().index().size(), 1u);
  auto got = q.Receive(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(q.Body(got[0].seq), "young");
  EXPECT_EQ(q.sm().ReadMessage(MessageSeq(1)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(StandardQueue, PurgeDeletesEverything) {
  QueueHarness q;
  for (int i = 0; i < 10; ++i) q.Send("m");
  q.Receive(3);
  internal::Command c;
  c.mutable_purge();
  q.Apply(c);
  EXPECT_EQ(q.sm().index().size(), 0u);
  EXPECT_TRUE(q.Receive(10).empty());
  // Nothing left in LevelDB but the counters and attributes.
  std::unique_ptr<leveldb::Iterator> it(
      q.db()->NewIterator(leveldb::ReadOptions()));
  int records = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++records;
  EXPECT_LE(records, 2);
  EXPECT_EQ(q.Send("after").seq, MessageSeq(11)) << "sequences never reused";
}

// GetQueueStats' totals come from replicated counters: the same on every
// replica, kept across restarts.
TEST(StandardQueue, CountersTotalWhatHappened) {
  QueueHarness q;
  for (int i = 0; i < 5; ++i)
    q.Send("m" + std::to_string(i), "", "d" + std::to_string(i));
  EXPECT_TRUE(q.Send("again", "", "d0").duplicate);
  auto got = q.Receive(2);
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE(q.Delete(got[0]).ok());
  ASSERT_TRUE(q.Delete(got[0]).ok()) << "a repeated delete is not counted";
  q.Advance(absl::Seconds(30));  // got[1] comes back and is received again
  ASSERT_EQ(q.Receive(1).size(), 1u);
  internal::Command purge;
  purge.mutable_purge()->set_max_messages(1);
  q.Apply(purge);
  q.Advance(absl::Hours(24 * 4 + 1));  // past the 4-day retention
  internal::Command expire;
  expire.mutable_expire_retention();
  q.Apply(expire);
  q.Reopen();
  const internal::StoredCounters& c = q.sm().counters();
  EXPECT_EQ(c.sent_total(), 5u);
  EXPECT_EQ(c.received_total(), 3u);
  EXPECT_EQ(c.deleted_total(), 1u);
  EXPECT_EQ(c.purged_total(), 1u);
  EXPECT_EQ(c.expired_total(), 3u);
  EXPECT_EQ(c.dead_lettered_total(), 0u);
}

TEST(StandardQueue, PurgeInChunksSparesLaterMessages) {
  QueueHarness q;
  for (int i = 0; i < 10; ++i) q.Send("old");
  internal::Command c;
  c.mutable_purge()->set_max_messages(4);
  ApplyResult r = q.Apply(c);
  EXPECT_TRUE(r.more);
  EXPECT_EQ(r.purge_below, MessageSeq(11));
  EXPECT_EQ(q.sm().index().size(), 6u);
  q.Send("new");  // sent after the purge began: kept
  c.mutable_purge()->set_below_sequence(r.purge_below.value());
  r = q.Apply(c);
  EXPECT_TRUE(r.more);
  r = q.Apply(c);
  EXPECT_FALSE(r.more);
  auto got = q.Receive(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(q.Body(got[0].seq), "new");
}

TEST(StandardQueue, RetentionExpiresInChunks) {
  internal::QueueAttributes a;
  a.set_retention_micros(absl::ToInt64Microseconds(absl::Seconds(60)));
  QueueHarness q(a);
  for (int i = 0; i < 5; ++i) q.Send("m");
  q.Advance(absl::Seconds(61));
  internal::Command c;
  c.mutable_expire_retention()->set_max_messages(3);
  EXPECT_TRUE(q.Apply(c).more);
  EXPECT_EQ(q.sm().index().size(), 2u);
  EXPECT_FALSE(q.Apply(c).more);
  EXPECT_EQ(q.sm().index().size(), 0u);
}

TEST(StandardQueue, NackReleasesNowOrAfterDelay) {
  QueueHarness q;
  q.Send("a");
  auto got = q.Receive(1, absl::Minutes(5));
  ASSERT_TRUE(q.Nack(got[0]).ok());
  got = q.Receive(1, absl::Minutes(5));
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(q.Nack(got[0], absl::Seconds(7)).ok());
  q.Advance(absl::Seconds(6));
  EXPECT_TRUE(q.Receive(1).empty());
  q.Advance(absl::Seconds(1));
  EXPECT_EQ(q.Receive(1).size(), 1u);
}

TEST(StandardQueue, RetryBackoffDoublesOnNackAndOnExpiry) {
  internal::QueueAttributes a;
  a.mutable_retry_backoff()->set_initial_micros(
      absl::ToInt64Microseconds(absl::Seconds(1)));
  a.mutable_retry_backoff()->set_max_micros(
      absl::ToInt64Microseconds(absl::Seconds(3)));
  QueueHarness q(a);
  q.Send("a");
  auto got = q.Receive(1);  // receive 1: nack waits 1 s
  ASSERT_TRUE(q.Nack(got[0]).ok());
  EXPECT_TRUE(q.Receive(1).empty());
  q.Advance(absl::Seconds(1));
  got = q.Receive(1, absl::Seconds(10));  // receive 2: expiry + 2 s
  ASSERT_EQ(got.size(), 1u);
  q.Advance(absl::Seconds(11));
  EXPECT_TRUE(q.Receive(1).empty());
  q.Advance(absl::Seconds(1));
  got = q.Receive(1);  // receive 3: 4 s capped at 3 s
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(q.Nack(got[0]).ok());
  q.Advance(absl::Seconds(2));
  EXPECT_TRUE(q.Receive(1).empty());
  q.Advance(absl::Seconds(1));
  EXPECT_EQ(q.Receive(1).size(), 1u);
}

TEST(StandardQueue, PeekDoesNotLeaseOrCount) {
  QueueHarness q;
  q.Send("a");
  q.Send("b");
  auto peeked = q.sm().Peek(MessageSeq(0), 10);
  ASSERT_EQ(peeked.size(), 2u);
  EXPECT_EQ(q.Body(peeked[1]), "b");
  auto got = q.Receive(10);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].receive_count, 1u);
  EXPECT_TRUE(q.sm().Peek(MessageSeq(0), 10).empty());
}

TEST(StandardQueue, StatsCountVisibleInFlightDelayedAndOldestAge) {
  QueueHarness q;
  q.Send("a");
  q.Advance(absl::Seconds(10));
  q.Send("b");
  q.Send("c", "", "", absl::Minutes(1));
  q.Receive(1);
  QueueStats s = q.sm().Stats(q.log_time() + absl::Seconds(5));
  EXPECT_EQ(s.visible, 1u);
  EXPECT_EQ(s.in_flight, 1u);
  EXPECT_EQ(s.delayed, 1u);
  ASSERT_TRUE(s.oldest_age.has_value());
  EXPECT_EQ(*s.oldest_age, absl::Seconds(15));
}

// Body bytes stored (max_backlog_bytes): kept through leases, given back
// on delete, rebuilt from the records after a restart.
TEST(StandardQueue, StoredBytesFollowSendsDeletesAndRestarts) {
  QueueHarness q;
  q.Send(std::string(100, 'a'));
  q.Send(std::string(20, 'b'));
  EXPECT_EQ(q.sm().Stats(q.log_time()).stored_bytes, 120u);
  std::vector<LeasedMessage> leased = q.Receive(1);
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(q.sm().Stats(q.log_time()).stored_bytes, 120u);
  ASSERT_TRUE(q.Delete(leased[0]).ok());
  EXPECT_EQ(q.sm().Stats(q.log_time()).stored_bytes, 20u);
  q.Reopen();
  EXPECT_EQ(q.sm().Stats(q.log_time()).stored_bytes, 20u);
}

TEST(StandardQueue, GrantWithStaleExpectedReceiveCountIsVoid) {
  QueueHarness q;
  q.Send("a");
  internal::Command c;
  c.mutable_grant()->set_visibility_timeout_micros(30'000'000);
  internal::LeaseGrant* g = c.mutable_grant()->add_grants();
  g->set_sequence(1);
  g->set_expected_receive_count(0);
  EXPECT_EQ(q.Apply(c).leased.size(), 1u);
  // The same grant again (a second leader's, or a retry): void.
  EXPECT_TRUE(q.Apply(c).leased.empty());
  EXPECT_EQ(q.sm().index().Find(1)->receive_count, 1u);
}

TEST(StandardQueue, PlannedMessagesAreReservedUntilTheGrantOrTimeout) {
  QueueHarness q;
  q.Send("a");
  ReceivePlan first = q.sm().PlanReceive({1, std::nullopt});
  EXPECT_EQ(first.grant.grants_size(), 1);
  EXPECT_EQ(q.sm().PlanReceive({1, std::nullopt}).grant.grants_size(), 0);
  q.Advance(absl::Seconds(10));  // the proposal was lost
  EXPECT_EQ(q.sm().PlanReceive({1, std::nullopt}).grant.grants_size(), 1);
  ReceivePlan third = q.sm().PlanReceive({1, std::nullopt});
  EXPECT_EQ(third.grant.grants_size(), 0);
  q.sm().ReleasePlan(first);
  q.Advance(absl::Seconds(10));
  EXPECT_EQ(q.sm().PlanReceive({1, std::nullopt}).grant.grants_size(), 1);
}

TEST(StandardQueue, LogTimeNeverGoesBack) {
  QueueHarness q;
  q.Send("a");
  const absl::Time t = q.log_time();
  q.SetLogTime(t - absl::Hours(1));  // a leader with a clock behind
  q.Send("b");
  auto m = q.sm().ReadMessage(MessageSeq(2));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->meta.sent_micros(), absl::ToUnixMicros(t));
}

TEST(StandardQueue, RestartRebuildsIndexWithoutBodiesAndKeepsLeases) {
  QueueHarness q;
  for (int i = 0; i < 6; ++i) q.Send("m" + std::to_string(i));
  q.Send("scheduled", "", "", absl::Minutes(10));
  auto leased = q.Receive(2, absl::Minutes(2));
  ASSERT_EQ(leased.size(), 2u);
  q.Advance(absl::Minutes(1));
  q.Send("tick");  // moves the applied log time on
  const std::string digest = *q.sm().Digest();
  // Bodies are not needed to rebuild: hide one and reopen.
  std::string body;
  const std::string key =
      QueueKeys(QueueKeyPrefix(1)).Message(RecordKind::kBody, 5);
  ASSERT_TRUE(q.db()->Get(leveldb::ReadOptions(), key, &body).ok());
  ASSERT_TRUE(q.db()->Delete(leveldb::WriteOptions(), key).ok());
  q.Reopen();
  ASSERT_TRUE(q.db()->Put(leveldb::WriteOptions(), key, body).ok());
  q.Reopen();
  EXPECT_EQ(*q.sm().Digest(), digest);
  QueueStats s = q.sm().Stats(q.log_time());
  EXPECT_EQ(s.visible, 5u);
  EXPECT_EQ(s.in_flight, 2u);
  EXPECT_EQ(s.delayed, 1u);
  EXPECT_EQ(q.Receive(10, absl::Hours(1)).size(), 5u);
  // The leases had one minute left by log time; not redelivered earlier.
  q.Advance(absl::Seconds(59));
  EXPECT_TRUE(q.Receive(10).empty());
  q.Advance(absl::Seconds(1));
  EXPECT_EQ(q.Receive(10).size(), 2u);
  EXPECT_TRUE(q.Delete(leased[0]).code() ==
              absl::StatusCode::kFailedPrecondition);
}

TEST(StandardQueue, SetAttributesChangesDefaultsButNotType) {
  QueueHarness q;
  internal::QueueAttributes a;
  a.set_visibility_timeout_micros(absl::ToInt64Microseconds(absl::Seconds(3)));
  ASSERT_TRUE(q.Configure(a).status.ok());
  q.Send("a");
  q.Receive(1);
  q.Advance(absl::Seconds(3));
  EXPECT_EQ(q.Receive(1).size(), 1u);
  internal::QueueAttributes fifo;
  fifo.set_fifo(true);
  absl::Status s = q.Configure(fifo).status;
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("fifo"), std::string::npos);
}

}  // namespace
}  // namespace sluice::broker
