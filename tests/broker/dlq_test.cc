// Dead-letter queues and redrive (issue 4, point 5).
#include "broker/queue/receipt_handle.h"
#include "gtest/gtest.h"
#include "tests/broker/queue_test_util.h"

namespace sluice::broker {
namespace {

using testing::FifoAttributes;
using testing::QueueHarness;

internal::QueueAttributes WithRedrive(internal::QueueAttributes a,
                                      uint32_t max_receives) {
  a.set_name(a.fifo() ? "src.fifo" : "src");
  a.mutable_redrive_policy()->set_dead_letter_target("dlq");
  a.mutable_redrive_policy()->set_max_receive_count(max_receives);
  return a;
}

// Copies the outbox of `from` to `to` and confirms the move.
void Deliver(QueueHarness& from, QueueHarness& to) {
  auto batch = from.sm().BuildMoveBatch("dlq", 100);
  ASSERT_TRUE(batch.ok()) << batch.status();
  if (batch->entries_size() == 0) return;
  internal::Command send;
  *send.mutable_send() = *batch;
  ApplyResult r = to.Apply(send);
  internal::Command done;
  for (const auto& e : batch->entries()) {
    done.mutable_move_done()->add_sequences(e.moved_from().source_sequence());
  }
  for (const auto& s : r.sends) ASSERT_TRUE(s.status.ok()) << s.status;
  from.Apply(done);
}

TEST(DeadLetter, MessageAtMaxReceiveCountIsMovedNotDelivered) {
  QueueHarness src(WithRedrive({}, 2));
  src.Send("poison");
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(src.Receive(1).size(), 1u);
    src.Advance(absl::Seconds(30));
  }
  EXPECT_TRUE(src.Receive(1).empty()) << "third receive moves instead";
  auto outbox = src.sm().Outbox(10);
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].destination, "dlq");
  EXPECT_EQ(src.sm().Stats(src.log_time()).outbox, 1u);
  QueueHarness dlq;
  Deliver(src, dlq);
  EXPECT_EQ(src.sm().index().size(), 0u);
  auto got = dlq.Receive(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(dlq.Body(got[0].seq), "poison");
  auto m = dlq.sm().ReadMessage(got[0].seq);
  EXPECT_EQ(m->meta.moved_from().source_queue(), "src");
  EXPECT_EQ(m->meta.moved_from().receive_count(), 2u);
}

// A lease the node took but never handed to a client (a long poll that was
// answered elsewhere first) is given back with undo_receive: such receives
// must not push a message towards the dead-letter queue.
TEST(DeadLetter, UndoneReceivesDoNotCountTowardsTheDeadLetterQueue) {
  QueueHarness src(WithRedrive({}, 2));
  src.Send("job");
  for (int i = 0; i < 5; ++i) {
    auto got = src.Receive(1);
    ASSERT_EQ(got.size(), 1u) << "undone receive " << i;
    EXPECT_EQ(got[0].receive_count, 1u);
    internal::Command undo;
    internal::VisibilityChange* v =
        undo.mutable_change_visibility()->add_changes();
    v->mutable_receipt()->set_sequence(got[0].seq.value());
    v->mutable_receipt()->set_receive_count(got[0].receive_count);
    v->set_timeout_micros(0);
    v->set_undo_receive(true);
    ApplyResult r = src.Apply(undo);
    ASSERT_EQ(r.entries.size(), 1u);
    ASSERT_TRUE(r.entries[0].ok()) << r.entries[0];
  }
  auto m = src.sm().ReadMessage(MessageSeq(1));
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->first_receive.has_value())
      << "no receive is left, so no first receive time";
  // Real receives still count: the third one dead-letters the message.
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(src.Receive(1).size(), 1u);
    src.Advance(absl::Seconds(30));
  }
  EXPECT_TRUE(src.Receive(1).empty());
  EXPECT_EQ(src.sm().Outbox(10).size(), 1u);
  EXPECT_EQ(src.sm().counters().received_total(), 2u)
      << "undone receives are not counted";
  EXPECT_EQ(src.sm().counters().dead_lettered_total(), 1u);
  // A plain release (no undo) still counts the receive.
  QueueHarness other(WithRedrive({}, 5));
  other.Send("x");
  auto got = other.Receive(1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(other.ChangeVisibility(got[0], absl::ZeroDuration()).ok());
  EXPECT_EQ(other.Receive(1)[0].receive_count, 2u)
      << "a plain release still counts the receive";
}

TEST(DeadLetter, MoveIsIdempotentAtTheTarget) {
  QueueHarness src(WithRedrive({}, 1));
  src.Send("a");
  src.Send("b");
  src.Receive(2);
  src.Advance(absl::Seconds(30));
  EXPECT_TRUE(src.Receive(2).empty());
  auto batch = src.sm().BuildMoveBatch("dlq", 100);
  ASSERT_EQ(batch->entries_size(), 2);
  QueueHarness dlq;
  internal::Command send;
  *send.mutable_send() = *batch;
  dlq.Apply(send);
  ApplyResult retry = dlq.Apply(send);  // the source retried after failover
  EXPECT_TRUE(retry.sends[0].duplicate);
  EXPECT_TRUE(retry.sends[1].duplicate);
  EXPECT_EQ(dlq.sm().index().size(), 2u);
}

TEST(DeadLetter, StaleHandleCannotDeleteAMovedMessage) {
  QueueHarness src(WithRedrive({}, 1));
  src.Send("a");
  auto got = src.Receive(1);
  src.Advance(absl::Seconds(30));
  src.Receive(1);
  EXPECT_EQ(src.Delete(got[0]).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(DeadLetter, FifoMoveKeepsGroupAndUnblocksIt) {
  QueueHarness src(WithRedrive(FifoAttributes(true), 1));
  src.Send("a1", "A");
  src.Send("a2", "A");
  src.Receive(1);
  src.Advance(absl::Seconds(30));
  // a1 goes to the outbox; a2 is next in its group.
  EXPECT_TRUE(src.Receive(1).empty());
  auto next = src.Receive(1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(src.Body(next[0].seq), "a2");
  QueueHarness dlq(FifoAttributes(true));
  Deliver(src, dlq);
  auto got = dlq.Receive(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(dlq.sm().ReadMessage(got[0].seq)->meta.group_id(), "A");
}

TEST(DeadLetter, OutboxSurvivesRestart) {
  QueueHarness src(WithRedrive({}, 1));
  src.Send("a");
  src.Receive(1);
  src.Advance(absl::Seconds(30));
  src.Receive(1);
  src.Reopen();
  ASSERT_EQ(src.sm().Outbox(10).size(), 1u);
  QueueHarness dlq;
  Deliver(src, dlq);
  EXPECT_EQ(dlq.sm().index().size(), 1u);
  EXPECT_TRUE(src.sm().Outbox(10).empty());
}

TEST(Redrive, MovesBackAtBoundedRateWithProgressAndCancel) {
  QueueHarness dlq;
  dlq.Configure([] {
    internal::QueueAttributes a;
    a.set_name("dlq");
    return a;
  }());
  for (int i = 0; i < 10; ++i) dlq.Send("m" + std::to_string(i));
  internal::Command start;
  start.mutable_start_redrive()->set_destination("src");
  start.mutable_start_redrive()->set_max_per_second(4);
  ASSERT_TRUE(dlq.Apply(start).status.ok());
  auto step = [&] {
    auto move = dlq.sm().PlanRedrive(100);
    if (!move.has_value()) return 0;
    internal::Command c;
    *c.mutable_redrive_move() = *move;
    dlq.Apply(c);
    return move->messages_size();
  };
  EXPECT_EQ(step(), 4);
  EXPECT_EQ(step(), 0) << "rate limit";
  dlq.Advance(absl::Milliseconds(500));
  EXPECT_EQ(step(), 2);
  RedriveProgress p = dlq.sm().Redrive();
  EXPECT_TRUE(p.running);
  EXPECT_EQ(p.moved, 6u);
  EXPECT_EQ(p.started_with, 10u);
  auto batch = dlq.sm().BuildMoveBatch("src", 100);
  ASSERT_EQ(batch->entries_size(), 6);
  EXPECT_EQ(batch->entries(0).body(), "m0");
  internal::Command cancel;
  cancel.mutable_cancel_redrive();
  dlq.Apply(cancel);
  EXPECT_FALSE(dlq.sm().Redrive().running);
  dlq.Advance(absl::Seconds(10));
  EXPECT_FALSE(dlq.sm().PlanRedrive(100).has_value());
}

TEST(Redrive, CompletesWhenTheQueueIsEmpty) {
  QueueHarness dlq;
  dlq.Send("a");
  internal::Command start;
  start.mutable_start_redrive()->set_destination("src");
  dlq.Apply(start);
  auto move = dlq.sm().PlanRedrive(100);
  ASSERT_TRUE(move.has_value());
  internal::Command c;
  *c.mutable_redrive_move() = *move;
  dlq.Apply(c);
  EXPECT_TRUE(dlq.sm().Redrive().completed);
}

}  // namespace
}  // namespace sluice::broker
