// PartitionOps reads and the leader's periodic work: peek, stats, purge,
// dead-letter moves and retention through Tick, redrive.
#include <string>
#include <vector>

#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "gtest/gtest.h"
#include "tests/broker/partition/partition_test_util.h"

namespace sluice::broker::testing {
namespace {

using internal::Command;

TEST(PartitionAdminTest, PeekShowsStatesAndPages) {
  PartitionFixture f;
  f.SendBodies({"a", "b"});
  v1::SendRequest later;
  *later.add_entries() = TextEntry("c", "c");
  *later.mutable_entries(0)->mutable_delay() =
      ToProtoDuration(absl::Minutes(1));
  ASSERT_TRUE(f.Send(later).ok());
  ASSERT_EQ(f.Receive(1, absl::Seconds(30))->messages_size(), 1);

  auto all = f.ops().Peek(v1::PeekRequest());
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->messages_size(), 3);
  EXPECT_EQ(all->messages(0).state(), v1::MESSAGE_STATE_IN_FLIGHT);
  EXPECT_TRUE(all->messages(0).receipt_handle().empty());
  EXPECT_EQ(all->messages(0).receive_count(), 1u);
  EXPECT_EQ(all->messages(1).state(), v1::MESSAGE_STATE_VISIBLE);
  EXPECT_EQ(all->messages(1).receive_count(), 0u);
  EXPECT_EQ(all->messages(2).state(), v1::MESSAGE_STATE_DELAYED);
  EXPECT_EQ(FromProtoTimestamp(all->messages(2).deliver_time()),
            f.wall().Now() + absl::Minutes(1));
  EXPECT_TRUE(all->next_page_token().empty());

  v1::PeekRequest visible;
  visible.add_states(v1::MESSAGE_STATE_VISIBLE);
  visible.set_omit_body(true);
  auto only = f.ops().Peek(visible);
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->messages_size(), 1);
  EXPECT_TRUE(only->messages(0).body().empty());
  EXPECT_EQ(only->messages(0).size_bytes(), 1u);

  v1::PeekRequest page;
  page.set_limit(2);
  auto first = f.ops().Peek(page);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->messages_size(), 2);
  ASSERT_FALSE(first->next_page_token().empty());
  page.set_page_token(first->next_page_token());
  auto second = f.ops().Peek(page);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->messages_size(), 1);
  EXPECT_EQ(second->messages(0).body(), "c");
  EXPECT_TRUE(second->next_page_token().empty());

  page.set_page_token("9:1");
  EXPECT_FALSE(f.ops().Peek(page).ok());
  EXPECT_EQ(f.ops().Peek(v1::PeekRequest()).status().code(),
            absl::StatusCode::kOk);
}

TEST(PartitionAdminTest, StatsWithFifoGroups) {
  internal::QueueAttributes attrs;
  attrs.set_fifo(true);
  attrs.set_content_based_dedup(true);
  PartitionFixture f(attrs);
  f.SendBodies({"a1", "a2", "a3"}, "A");
  f.SendBodies({"b1"}, "B");
  f.SendBodies({"c1", "c2"}, "C");
  ASSERT_EQ(f.Receive(1)->messages(0).group_id(), "A");
  f.Advance(absl::Seconds(5));

  v1::GetQueueStatsRequest r;
  r.set_include_partitions(true);
  r.set_group_page_size(2);
  auto stats = f.ops().GetQueueStats(r);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->counts().visible_count(), 5u);
  EXPECT_EQ(stats->counts().in_flight_count(), 1u);
  EXPECT_EQ(stats->counts().backlog_bytes(), 12u) << "six 2-byte bodies";
  EXPECT_EQ(stats->counts().sent_count(), 6u);
  EXPECT_EQ(stats->counts().received_count(), 1u);
  EXPECT_EQ(FromProtoDuration(stats->counts().oldest_message_age()),
            absl::Seconds(5));
  EXPECT_EQ(stats->group_count(), 3u);
  EXPECT_EQ(stats->groups_in_flight_count(), 1u);
  ASSERT_EQ(stats->partitions_size(), 1);
  EXPECT_EQ(stats->partitions(0).partition(), kPartition);
  EXPECT_EQ(stats->partitions(0).last_sequence_number(), 6u);
  ASSERT_EQ(stats->groups_size(), 2);
  EXPECT_EQ(stats->groups(0).group_id(), "A");  // largest backlog first
  EXPECT_EQ(stats->groups(0).in_flight_count(), 1u);
  EXPECT_EQ(stats->groups(0).visible_count(), 2u);
  EXPECT_EQ(stats->groups(1).group_id(), "C");
  EXPECT_FALSE(stats->next_group_page_token().empty());

  r.set_group_order(v1::GROUP_ORDER_GROUP_ID);
  r.set_group_page_size(1);
  r.set_group_page_token("A");
  stats = f.ops().GetQueueStats(r);
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->groups_size(), 1);
  EXPECT_EQ(stats->groups(0).group_id(), "B");
  EXPECT_EQ(stats->next_group_page_token(), "B");

  PartitionFixture standard;
  v1::GetQueueStatsRequest groups;
  groups.set_group_page_size(1);
  auto refused = standard.ops().GetQueueStats(groups);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ReasonOf(refused.status()),
            v1::ERROR_REASON_ATTRIBUTE_NOT_APPLICABLE);
}

TEST(PartitionAdminTest, PurgeInChunks) {
  PartitionOpsOptions options;
  options.purge_batch = 2;
  PartitionFixture f({}, nullptr, options);
  f.SendBodies({"1", "2", "3", "4", "5"});
  ASSERT_EQ(f.Receive(1)->messages_size(), 1);  // in flight is purged too
  auto purged = f.Purge();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->purged_count(), 5u);
  EXPECT_EQ(FromProtoTimestamp(purged->purge_time()), f.wall().Now());
  EXPECT_EQ(f.proposer().Count(Command::kPurge), 3);
  EXPECT_EQ(f.sm().index().size(), 0u);
  // Sent after the purge: kept.
  f.SendBodies({"6"});
  EXPECT_EQ(f.VisibleCount(), 1u);
}

internal::QueueAttributes WithDeadLetter() {
  internal::QueueAttributes attrs;
  attrs.mutable_redrive_policy()->set_dead_letter_target("dlq");
  attrs.mutable_redrive_policy()->set_max_receive_count(1);
  return attrs;
}

internal::QueueAttributes Named(const std::string& name) {
  internal::QueueAttributes attrs;
  attrs.set_name(name);
  return attrs;
}

TEST(PartitionAdminTest, DeadLetterMoveViaTick) {
  PartitionFixture dlq(Named("dlq"));
  FixtureMoveSender sender;
  sender.set_target(&dlq);
  PartitionFixture f(WithDeadLetter(), &sender);
  f.SendBodies({"poison", "fine"});

  auto first = f.Receive(1);
  ASSERT_EQ(first->messages_size(), 1);
  ASSERT_TRUE(f.Nack({first->messages(0).receipt_handle()}, std::nullopt).ok());
  // "poison" was received max_receive_count times: it moves to the outbox
  // instead of being delivered, and "fine" comes instead.
  auto second = f.Receive(1);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->messages_size(), 1);
  EXPECT_EQ(second->messages(0).body(), "fine");
  EXPECT_EQ(f.proposer().Count(Command::kMoveToDeadLetter), 1);
  EXPECT_EQ(f.sm().Outbox(10).size(), 1u);

  f.ops().Tick();
  EXPECT_EQ(sender.destinations, std::vector<std::string>{"dlq"});
  EXPECT_EQ(f.proposer().Count(Command::kMoveDone), 1);
  EXPECT_TRUE(f.sm().Outbox(10).empty());
  EXPECT_EQ(f.sm().index().size(), 1u);  // only "fine", in flight

  auto dead = dlq.Receive(10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->messages_size(), 1);
  EXPECT_EQ(dead->messages(0).body(), "poison");
  EXPECT_EQ(dead->messages(0).dead_letter_source().source_queue_name(), "q");
  EXPECT_EQ(dead->messages(0).dead_letter_source().source_receive_count(), 1u);

  // Nothing left to move: a second tick copies nothing.
  f.ops().Tick();
  EXPECT_EQ(sender.destinations.size(), 1u);
}

TEST(PartitionAdminTest, FailedCopyIsRetriedAfterBackoff) {
  FixtureMoveSender sender;  // no target: every copy fails
  PartitionFixture f(WithDeadLetter(), &sender);
  f.SendBodies({"poison"});
  ASSERT_TRUE(
      f.Nack({f.Receive(1)->messages(0).receipt_handle()}, std::nullopt).ok());
  EXPECT_EQ(f.Receive(1)->messages_size(), 0);
  f.ops().Tick();
  f.ops().Tick();
  EXPECT_EQ(sender.destinations.size(), 1u);
  f.Advance(absl::Seconds(1));
  f.ops().Tick();
  EXPECT_EQ(sender.destinations.size(), 2u);
  EXPECT_EQ(f.sm().Outbox(10).size(), 1u);  // still waiting to move
}

TEST(PartitionAdminTest, RetentionViaTickWithoutDuplicates) {
  internal::QueueAttributes attrs;
  attrs.set_retention_micros(absl::ToInt64Microseconds(absl::Seconds(60)));
  PartitionFixture f(attrs);
  f.SendBodies({"old"});
  f.Advance(absl::Seconds(30));
  f.SendBodies({"new"});
  f.Advance(absl::Seconds(40));

  f.proposer().set_async(true);
  f.ops().Tick();
  f.ops().Tick();  // one in flight already: nothing new
  EXPECT_EQ(f.proposer().Count(Command::kExpireRetention), 1);
  f.proposer().ApplyAll();
  EXPECT_EQ(f.sm().index().size(), 1u);
  f.ops().Tick();  // before the interval: nothing
  EXPECT_EQ(f.proposer().Count(Command::kExpireRetention), 1);
  f.Advance(absl::Seconds(1));
  f.ops().Tick();  // "new" is due only at 60 s of age: no empty proposal
  EXPECT_EQ(f.proposer().Count(Command::kExpireRetention), 1);
  f.Advance(absl::Seconds(19));
  f.ops().Tick();  // due now
  EXPECT_EQ(f.proposer().Count(Command::kExpireRetention), 2);
  f.proposer().FailNext(absl::UnavailableError("leader lost"));
  f.Advance(absl::Seconds(1));
  f.ops().Tick();  // a failed one does not block the next
  EXPECT_EQ(f.proposer().Count(Command::kExpireRetention), 3);
  f.proposer().ApplyAll();
  EXPECT_EQ(f.sm().index().size(), 0u);
  // Nothing stored that could expire: an idle partition proposes nothing
  // (so its Raft group can quiesce).
  for (int i = 0; i < 100; ++i) {
    f.Advance(absl::Minutes(1));
    f.ops().Tick();
  }
  EXPECT_EQ(f.proposer().Count(Command::kExpireRetention), 3);
}

TEST(PartitionAdminTest, RedriveStartListCancel) {
  PartitionFixture source(Named("src"));
  FixtureMoveSender sender;
  sender.set_target(&source);
  PartitionOpsOptions options;
  options.redrive_batch = 2;
  PartitionFixture dlq(Named("dlq"), &sender, options);
  dlq.SendBodies({"1", "2", "3"});

  v1::StartRedriveRequest start;
  auto refused = Await<v1::StartRedriveResponse>(
      [&](auto done) { dlq.ops().StartRedrive(start, done); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(FieldOf(refused.status()), "destination_queue_name");

  start.set_destination_queue_name("src");
  start.set_max_messages_per_second(2);
  auto started = Await<v1::StartRedriveResponse>(
      [&](auto done) { dlq.ops().StartRedrive(start, done); });
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->task().state(), v1::REDRIVE_TASK_STATE_RUNNING);
  EXPECT_EQ(started->task().approximate_messages_to_move(), 3u);
  EXPECT_EQ(started->task().task_id(), dlq.ops().RedriveTaskId());

  auto again = Await<v1::StartRedriveResponse>(
      [&](auto done) { dlq.ops().StartRedrive(start, done); });
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(ReasonOf(again.status()), v1::ERROR_REASON_REDRIVE_TASK_ACTIVE);

  dlq.ops().Tick();  // two messages (the rate), copied back at once
  EXPECT_EQ(source.sm().index().size(), 2u);
  auto tasks = dlq.ops().ListRedriveTasks(v1::ListRedriveTasksRequest());
  ASSERT_EQ(tasks.tasks_size(), 1);
  EXPECT_EQ(tasks.tasks(0).moved_count(), 2u);
  EXPECT_EQ(tasks.tasks(0).state(), v1::REDRIVE_TASK_STATE_RUNNING);

  v1::CancelRedriveRequest cancel;
  cancel.set_task_id("nope");
  auto missing = Await<v1::CancelRedriveResponse>(
      [&](auto done) { dlq.ops().CancelRedrive(cancel, done); });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ReasonOf(missing.status()),
            v1::ERROR_REASON_REDRIVE_TASK_NOT_FOUND);
  cancel.set_task_id(dlq.ops().RedriveTaskId());
  auto cancelled = Await<v1::CancelRedriveResponse>(
      [&](auto done) { dlq.ops().CancelRedrive(cancel, done); });
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->task().state(), v1::REDRIVE_TASK_STATE_CANCELLED);
  EXPECT_EQ(dlq.ops().ListRedriveTasks({}).tasks_size(), 0);

  dlq.Advance(absl::Seconds(5));
  dlq.ops().Tick();  // cancelled: the third message stays
  EXPECT_EQ(source.sm().index().size(), 2u);
  EXPECT_EQ(dlq.sm().index().size(), 1u);
}

}  // namespace
}  // namespace sluice::broker::testing
