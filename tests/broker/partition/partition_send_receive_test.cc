// PartitionOps at the public API's level: send, receive, delete, FIFO order,
// idempotent producers, and what a failed proposal gives back.
#include <string>
#include <vector>

#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "broker/partition/public_ids.h"
#include "gtest/gtest.h"
#include "tests/broker/partition/partition_test_util.h"

namespace sluice::broker::testing {
namespace {

internal::QueueAttributes Fifo() {
  internal::QueueAttributes a;
  a.set_fifo(true);
  a.set_content_based_dedup(true);
  return a;
}

TEST(PartitionSendReceiveTest, SendReceiveDelete) {
  PartitionFixture f;
  v1::SendRequest send;
  *send.add_entries() = TextEntry("a", "alpha");
  v1::SendEntry* b = send.add_entries();
  *b = TextEntry("b", "beta");
  (*b->mutable_attributes())["color"].set_string_value("red");
  (*b->mutable_attributes())["n"].set_number_value("7");
  (*b->mutable_attributes())["n"].set_custom_type("int");
  auto sent = f.Send(send);
  ASSERT_TRUE(sent.ok()) << sent.status();
  ASSERT_EQ(sent->results_size(), 2);
  for (const v1::SendResult& r : sent->results()) {
    EXPECT_EQ(r.status().code(), 0) << r.status().message();
    EXPECT_EQ(r.partition(), kPartition);
    EXPECT_FALSE(r.duplicate());
    EXPECT_EQ(FromProtoTimestamp(r.sent_time()), f.wall().Now());
  }
  EXPECT_EQ(sent->results(0).entry_id(), "a");
  EXPECT_LT(sent->results(0).sequence_number(),
            sent->results(1).sequence_number());

  auto received = f.Receive(10, absl::Seconds(30));
  ASSERT_TRUE(received.ok()) << received.status();
  ASSERT_EQ(received->messages_size(), 2);
  const v1::Message& m0 = received->messages(0);
  const v1::Message& m1 = received->messages(1);
  EXPECT_EQ(m0.body(), "alpha");
  EXPECT_EQ(m0.message_id(), sent->results(0).message_id());
  EXPECT_EQ(m0.receive_count(), 1u);
  EXPECT_EQ(m0.state(), v1::MESSAGE_STATE_IN_FLIGHT);
  EXPECT_EQ(FromProtoTimestamp(m0.lease_deadline()),
            f.wall().Now() + absl::Seconds(30));
  EXPECT_EQ(m1.body(), "beta");
  EXPECT_EQ(m1.attributes().at("color").string_value(), "red");
  EXPECT_EQ(m1.attributes().at("n").number_value(), "7");
  EXPECT_EQ(m1.attributes().at("n").custom_type(), "int");
  auto partition = ReceiptHandlePartition(m0.receipt_handle(), kQueueId);
  ASSERT_TRUE(partition.ok()) << partition.status();
  EXPECT_EQ(*partition, kPartition);

  // Nothing else is visible while both are leased.
  auto again = f.Receive(10);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->messages_size(), 0);

  auto deleted = f.Delete({m0.receipt_handle(), m1.receipt_handle()});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  for (const v1::DeleteResult& r : deleted->results()) {
    EXPECT_EQ(r.status().code(), 0) << r.status().message();
  }
  EXPECT_EQ(deleted->results(1).entry_id(), "d1");
  EXPECT_EQ(f.sm().index().size(), 0u);
  // Delete is idempotent.
  deleted = f.Delete({m0.receipt_handle()});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->results(0).status().code(), 0);
}

TEST(PartitionSendReceiveTest, AttributeSelectionOnReceive) {
  PartitionFixture f;
  v1::SendRequest send;
  v1::SendEntry* e = send.add_entries();
  *e = TextEntry("a", "x");
  (*e->mutable_attributes())["trace.id"].set_string_value("1");
  (*e->mutable_attributes())["other"].set_binary_value(std::string("\0\1", 2));
  ASSERT_TRUE(f.Send(send).ok());
  v1::ReceiveRequest r;
  r.add_message_attribute_names("trace.*");
  auto got =
      Await<v1::ReceiveResponse>([&](auto done) { f.ops().Receive(r, done); });
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->messages_size(), 1);
  EXPECT_EQ(got->messages(0).attributes_size(), 1);
  EXPECT_TRUE(got->messages(0).attributes().contains("trace.id"));
}

TEST(PartitionSendReceiveTest, FifoGroupOrderThroughReceive) {
  PartitionFixture f(Fifo());
  f.SendBodies({"a1", "a2"}, "A");
  f.SendBodies({"b1"}, "B");
  f.SendBodies({"a3"}, "A");

  auto first = f.Receive(1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->messages_size(), 1);
  EXPECT_EQ(first->messages(0).body(), "a1");
  EXPECT_EQ(first->messages(0).group_id(), "A");
  // Group A is blocked while a1 is in flight: B comes next, then nothing.
  auto second = f.Receive(10);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->messages_size(), 1);
  EXPECT_EQ(second->messages(0).body(), "b1");
  EXPECT_FALSE(f.ops().HasVisible());

  ASSERT_TRUE(f.Delete({first->messages(0).receipt_handle()}).ok());
  EXPECT_TRUE(f.ops().HasVisible());
  auto rest = f.Receive(10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->messages_size(), 2);
  EXPECT_EQ(rest->messages(0).body(), "a2");
  EXPECT_EQ(rest->messages(1).body(), "a3");
}

TEST(PartitionSendReceiveTest, FifoDedupReturnsOriginal) {
  PartitionFixture f(Fifo());
  auto first = f.SendBodies({"x"}, "G");
  auto again = f.SendBodies({"x"}, "G");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].duplicate());
  EXPECT_EQ(again[0].message_id(), first[0].message_id());
}

v1::SendRequest ProducerRequest(uint64_t first,
                                std::vector<std::string> bodies) {
  v1::SendRequest r;
  r.set_producer_id("producer-1");
  v1::ProducerSequence* ps = r.add_producer_sequences();
  ps->set_partition(kPartition);
  ps->set_first_sequence(first);
  for (size_t i = 0; i < bodies.size(); ++i) {
    v1::SendEntry* e = r.add_entries();
    *e = TextEntry("e" + std::to_string(i), bodies[i]);
    e->set_partition(kPartition);
  }
  return r;
}

TEST(PartitionSendReceiveTest, IdempotentResendReturnsOriginalIds) {
  PartitionFixture f;
  auto first = f.Send(ProducerRequest(1, {"one", "two"}));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->results(1).status().code(), 0);

  auto retry = f.Send(ProducerRequest(1, {"one", "two"}));
  ASSERT_TRUE(retry.ok());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(retry->results(i).status().code(), 0);
    EXPECT_TRUE(retry->results(i).duplicate());
    EXPECT_EQ(retry->results(i).message_id(), first->results(i).message_id());
    EXPECT_EQ(retry->results(i).sequence_number(),
              first->results(i).sequence_number());
  }
  EXPECT_EQ(f.sm().index().size(), 2u);

  auto next = f.Send(ProducerRequest(3, {"three"}));
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->results(0).duplicate());
  EXPECT_EQ(f.sm().index().size(), 3u);

  // The first request's result is forgotten by now.
  auto stale = f.Send(ProducerRequest(1, {"one"}));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->results(0).status().code(),
            static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(stale->results(0).status().reason(),
            v1::ERROR_REASON_PRODUCER_SEQUENCE_STALE);
}

TEST(PartitionSendReceiveTest, ProducerRequestIsValidatedAsAWhole) {
  PartitionFixture f;
  v1::SendRequest r = ProducerRequest(1, {"ok", ""});
  auto sent = f.Send(r);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(sent.status()), "entries[1].body");
  EXPECT_EQ(f.proposer().Count(internal::Command::kSend), 0);

  r = ProducerRequest(1, {"ok"});
  r.mutable_entries(0)->clear_partition();
  sent = f.Send(r);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(FieldOf(sent.status()), "entries[0].partition");

  r = ProducerRequest(1, {"ok"});
  r.mutable_producer_sequences(0)->set_partition(kPartition + 1);
  sent = f.Send(r);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(FieldOf(sent.status()), "producer_sequences");
}

TEST(PartitionSendReceiveTest, StaleHandleDeleteFailsPrecondition) {
  PartitionFixture f;
  f.SendBodies({"m"});
  auto first = f.Receive(1, absl::Seconds(10));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->messages_size(), 1);
  f.Advance(absl::Seconds(11));  // the lease runs out
  auto second = f.Receive(1);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->messages_size(), 1);
  EXPECT_EQ(second->messages(0).receive_count(), 2u);

  auto stale = f.Delete({first->messages(0).receipt_handle()});
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->results(0).status().code(),
            static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(stale->results(0).status().reason(),
            v1::ERROR_REASON_RECEIPT_HANDLE_STALE);
  EXPECT_EQ(stale->results(0).status().field(), "receipt_handle");
  EXPECT_EQ(f.sm().index().size(), 1u);  // nothing deleted

  auto current = f.Delete({second->messages(0).receipt_handle()});
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->results(0).status().code(), 0);
  EXPECT_EQ(f.sm().index().size(), 0u);
}

TEST(PartitionSendReceiveTest, ReceiveRespectsMaxBytes) {
  PartitionFixture f;
  f.SendBodies(
      {std::string(600, 'a'), std::string(600, 'b'), std::string(600, 'c')});
  v1::ReceiveRequest r;
  r.set_max_messages(10);
  r.set_max_bytes(1000);
  auto got =
      Await<v1::ReceiveResponse>([&](auto done) { f.ops().Receive(r, done); });
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->messages_size(), 1);  // at least one, never past the budget
  // The others were released at once.
  EXPECT_EQ(f.VisibleCount(), 2u);
}

TEST(PartitionSendReceiveTest, FailedGrantReleasesPlan) {
  PartitionFixture f;
  f.SendBodies({"m1", "m2"});
  f.proposer().set_async(true);
  v1::ReceiveRequest one;
  one.set_max_messages(1);
  std::vector<absl::StatusOr<v1::ReceiveResponse>> answers;
  auto collect = [&](absl::StatusOr<v1::ReceiveResponse> r) {
    answers.push_back(std::move(r));
  };
  // Two receives planned before either applies pick different messages.
  f.ops().Receive(one, collect);
  f.ops().Receive(one, collect);
  ASSERT_EQ(f.proposer().pending(), 2u);
  f.proposer().FailNext(absl::UnavailableError("leader lost"));
  f.proposer().ApplyNext();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(answers[1].ok());
  ASSERT_EQ(answers[1]->messages_size(), 1);
  EXPECT_EQ(answers[1]->messages(0).body(), "m2");

  // m1's reservation was given back: the next receive gets it at once.
  f.proposer().set_async(false);
  auto again = f.Receive(10);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->messages_size(), 1);
  EXPECT_EQ(again->messages(0).body(), "m1");
}

// The partition closes on this node (leadership moved) while a send is in
// flight, and the entry is applied anyway (the new leader committed it): the
// sender must learn that it succeeded, or its retry would enqueue a copy. A
// receive whose object is gone answers UNAVAILABLE (its lease just expires).
TEST(PartitionSendReceiveTest, AppliedSendIsAnsweredAfterThePartitionClosed) {
  PartitionFixture f;
  f.SendBodies({"waiting"});
  f.proposer().set_async(true);
  std::optional<absl::StatusOr<v1::SendResponse>> sent;
  v1::SendRequest send;
  *send.add_entries() = TextEntry("a", "x");
  f.ops().Send(
      send, [&](absl::StatusOr<v1::SendResponse> r) { sent = std::move(r); });
  std::optional<absl::Status> received;
  v1::ReceiveRequest receive;
  receive.set_max_messages(1);
  f.ops().Receive(receive, [&](absl::StatusOr<v1::ReceiveResponse> r) {
    received = r.status();
  });
  f.DestroyOps();
  f.proposer().ApplyAll();
  ASSERT_TRUE(sent.has_value());
  ASSERT_TRUE(sent->ok()) << sent->status();
  ASSERT_EQ((*sent)->results_size(), 1);
  EXPECT_EQ((*sent)->results(0).status().code(), 0);
  EXPECT_FALSE((*sent)->results(0).message_id().empty());
  EXPECT_EQ((*sent)->results(0).partition(), kPartition);
  ASSERT_TRUE(received.has_value());
  EXPECT_EQ(received->code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sluice::broker::testing
