#include "broker/meta/queue_config.h"

#include "broker/partition/entry_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::meta {
namespace {

using ::testing::HasSubstr;

google::protobuf::Duration Seconds(int64_t s) {
  google::protobuf::Duration d;
  d.set_seconds(s);
  return d;
}

TEST(QueueConfigTest, DefaultsFillEveryAttribute) {
  auto a = ResolveAttributes({}, /*fifo=*/false, /*cluster_nodes=*/3);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->visibility_timeout().seconds(), 30);
  EXPECT_EQ(a->delivery_delay().seconds(), 0);
  EXPECT_EQ(a->message_retention().seconds(), 4 * 24 * 3600);
  EXPECT_EQ(a->max_message_size_bytes(), 262144u);
  EXPECT_EQ(a->dedup_window().seconds(), 300);
  EXPECT_EQ(a->partition_count(), 1u);
  EXPECT_EQ(a->replication_factor(), 3u);
  EXPECT_EQ(a->dedup_scope(), v1::DEDUP_SCOPE_QUEUE);
  EXPECT_FALSE(a->has_redrive_policy());

  // Fewer nodes than 3: replication follows the cluster.
  a = ResolveAttributes({}, false, 1);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->replication_factor(), 1u);
  // FIFO with several partitions: dedup per message group.
  v1::QueueAttributes fifo;
  fifo.set_partition_count(4);
  a = ResolveAttributes(fifo, true, 3);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->dedup_scope(), v1::DEDUP_SCOPE_MESSAGE_GROUP);
}

TEST(QueueConfigTest, OutOfRangeValuesNameTheirField) {
  struct Case {
    std::function<void(v1::QueueAttributes&)> set;
    const char* field;
  };
  const Case cases[] = {
      {[](auto& a) {
         *a.mutable_visibility_timeout() = Seconds(12 * 3600 + 1);
       },
       "attributes.visibility_timeout"},
      {[](auto& a) { *a.mutable_delivery_delay() = Seconds(901); },
       "attributes.delivery_delay"},
      {[](auto& a) { *a.mutable_message_retention() = Seconds(59); },
       "attributes.message_retention"},
      {[](auto& a) { *a.mutable_receive_wait_time() = Seconds(21); },
       "attributes.receive_wait_time"},
      {[](auto& a) { a.set_max_message_size_bytes(1023); },
       "attributes.max_message_size_bytes"},
      {[](auto& a) { a.set_partition_count(0); }, "attributes.partition_count"},
      {[](auto& a) { a.set_replication_factor(8); },
       "attributes.replication_factor"},
      {[](auto& a) { a.mutable_redrive_policy()->set_max_receive_count(1); },
       "attributes.redrive_policy.dead_letter_queue_name"},
      {[](auto& a) {
         a.mutable_redrive_policy()->set_dead_letter_queue_name("dlq");
       },
       "attributes.redrive_policy.max_receive_count"},
      {[](auto& a) { a.mutable_retry_policy()->set_multiplier(3); },
       "attributes.retry_policy.multiplier"},
  };
  for (const Case& c : cases) {
    v1::QueueAttributes a;
    c.set(a);
    auto resolved = ResolveAttributes(a, false, 3);
    ASSERT_FALSE(resolved.ok()) << c.field;
    EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(broker::FieldOf(resolved.status()), c.field);
  }
  // More replicas than nodes is a cluster condition, not bad input.
  v1::QueueAttributes a;
  a.set_replication_factor(5);
  EXPECT_EQ(ResolveAttributes(a, false, 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Message-group dedup only on FIFO queues.
  a.Clear();
  a.set_dedup_scope(v1::DEDUP_SCOPE_MESSAGE_GROUP);
  EXPECT_EQ(broker::ReasonOf(ResolveAttributes(a, false, 3).status()),
            v1::ERROR_REASON_ATTRIBUTE_NOT_APPLICABLE);
}

TEST(QueueConfigTest, TypeFollowsTheNameAndMustAgreeWithIt) {
  v1::CreateQueueRequest r;
  r.set_queue_name("jobs.fifo");
  EXPECT_EQ(ResolveFifo(r).value(), true);
  r.set_type(v1::QUEUE_TYPE_STANDARD);
  EXPECT_EQ(broker::FieldOf(ResolveFifo(r).status()), "type");
  r.set_queue_name("jobs");
  EXPECT_EQ(ResolveFifo(r).value(), false);
  r.set_type(v1::QUEUE_TYPE_FIFO);
  EXPECT_FALSE(ResolveFifo(r).ok());
}

TEST(QueueConfigTest, DeadLetterQueueMustExistWithTheSameType) {
  sluice::internal::MetadataState state;
  auto* dlq = state.add_queues();
  dlq->set_name("dlq");
  dlq->mutable_attributes()->set_fifo(false);
  v1::QueueAttributes a;
  a.mutable_redrive_policy()->set_dead_letter_queue_name("dlq");
  a.mutable_redrive_policy()->set_max_receive_count(3);
  EXPECT_TRUE(CheckDeadLetterQueue(a, "work", false, state).ok());
  EXPECT_THAT(CheckDeadLetterQueue(a, "work.fifo", true, state).message(),
              HasSubstr("not of the same type"));
  EXPECT_THAT(CheckDeadLetterQueue(a, "dlq", false, state).message(),
              HasSubstr("its own dead-letter queue"));
  a.mutable_redrive_policy()->set_dead_letter_queue_name("missing");
  EXPECT_THAT(CheckDeadLetterQueue(a, "work", false, state).message(),
              HasSubstr("does not exist"));
}

TEST(QueueConfigTest, UpdateMaskChangesOnlyTheNamedFields) {
  auto current = ResolveAttributes({}, false, 3);
  ASSERT_TRUE(current.ok());
  v1::UpdateQueueRequest update;
  *update.mutable_attributes()->mutable_visibility_timeout() = Seconds(60);
  *update.mutable_attributes()->mutable_delivery_delay() = Seconds(5);
  update.mutable_update_mask()->add_paths("attributes.visibility_timeout");
  bool tags = true;
  auto next = ApplyUpdate(*current, false, update, 3, &tags);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(tags);
  EXPECT_EQ(next->visibility_timeout().seconds(), 60);
  EXPECT_EQ(next->delivery_delay().seconds(), 0);  // not in the mask

  // A masked field left unset goes back to its default.
  update.clear_attributes();
  next = ApplyUpdate(*next, false, update, 3, &tags);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->visibility_timeout().seconds(), 30);

  // No mask: every field set in the request; tags in the mask replace tags.
  update.Clear();
  update.mutable_attributes()->set_max_message_size_bytes(2048);
  update.mutable_update_mask()->add_paths("tags");
  (*update.mutable_tags())["team"] = "a";
  next = ApplyUpdate(*current, false, update, 3, &tags);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(tags);
  EXPECT_EQ(next->max_message_size_bytes(), 262144u);  // mask had only tags
  update.clear_update_mask();
  next = ApplyUpdate(*current, false, update, 3, &tags);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->max_message_size_bytes(), 2048u);

  update.mutable_update_mask()->add_paths("attributes.no_such_field");
  EXPECT_EQ(
      broker::FieldOf(ApplyUpdate(*current, false, update, 3, &tags).status()),
      "update_mask");
  update.clear_update_mask();
  update.mutable_attributes()->set_partition_count(2);
  EXPECT_EQ(
      broker::ReasonOf(ApplyUpdate(*current, false, update, 3, &tags).status()),
      v1::ERROR_REASON_ATTRIBUTE_IMMUTABLE);
}

TEST(QueueConfigTest, InternalFormCarriesEveryValueInMicroseconds) {
  v1::QueueAttributes a;
  *a.mutable_visibility_timeout() = Seconds(45);
  a.mutable_redrive_policy()->set_dead_letter_queue_name("dlq");
  a.mutable_redrive_policy()->set_max_receive_count(5);
  a.mutable_retry_policy();
  auto resolved = ResolveAttributes(a, true, 3);
  ASSERT_TRUE(resolved.ok());
  const auto internal = ToInternalAttributes(*resolved, true, "q.fifo");
  EXPECT_TRUE(internal.fifo());
  EXPECT_EQ(internal.name(), "q.fifo");
  EXPECT_EQ(internal.visibility_timeout_micros(), 45'000'000);
  EXPECT_EQ(internal.retention_micros(), 4LL * 24 * 3600 * 1'000'000);
  EXPECT_EQ(internal.redrive_policy().dead_letter_target(), "dlq");
  EXPECT_EQ(internal.redrive_policy().max_receive_count(), 5u);
  EXPECT_EQ(internal.retry_backoff().initial_micros(), 1'000'000);
  EXPECT_EQ(internal.retry_backoff().max_micros(), 600'000'000);
}

}  // namespace
}  // namespace sluice::meta
