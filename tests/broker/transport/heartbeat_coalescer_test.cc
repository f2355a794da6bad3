#include "broker/transport/heartbeat_coalescer.h"

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace sluice::broker {
namespace {

using sluice::internal::RaftStreamRequest;
using sluice::internal::raft::Message;
using namespace sluice::internal::raft;  // NOLINT: message type names

Message Heartbeat(uint64_t group, uint64_t term, uint64_t commit,
                  bool quiesce = false) {
  Message m;
  m.set_type(MESSAGE_TYPE_HEARTBEAT);
  m.set_group(group);
  m.set_from(1);
  m.set_to(2);
  m.set_term(term);
  m.set_commit(commit);
  m.set_quiesce(quiesce);
  return m;
}

Message Response(uint64_t group, uint64_t term) {
  Message m;
  m.set_type(MESSAGE_TYPE_HEARTBEAT_RESPONSE);
  m.set_group(group);
  m.set_from(1);
  m.set_to(2);
  m.set_term(term);
  return m;
}

std::vector<Message> RoundTrip(const std::vector<Message>& in) {
  HeartbeatCoalescer c;
  for (const Message& m : in) EXPECT_TRUE(c.Add(m)) << m.ShortDebugString();
  RaftStreamRequest request;
  c.MoveInto(request);
  EXPECT_TRUE(c.empty());
  // Through the wire format, as the stream carries it.
  RaftStreamRequest parsed;
  EXPECT_TRUE(parsed.ParseFromString(request.SerializeAsString()));
  std::vector<Message> out;
  EXPECT_TRUE(
      ExpandHeartbeats(parsed, raft::NodeId(1), raft::NodeId(2), out).ok());
  return out;
}

void ExpectSame(const std::vector<Message>& a, const std::vector<Message>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a[i], b[i]))
        << a[i].ShortDebugString() << " vs " << b[i].ShortDebugString();
  }
}

TEST(HeartbeatCoalescerTest, HeartbeatsAndResponsesRoundTripExactly) {
  std::vector<Message> in = {Heartbeat(7, 3, 100), Heartbeat(9, 1, 0),
                             Response(11, 4), Response(12, 2)};
  ExpectSame(RoundTrip(in), in);
}

TEST(HeartbeatCoalescerTest, QuiesceFlagsKeepTheirPlaces) {
  std::vector<Message> in = {Heartbeat(7, 3, 100), Heartbeat(8, 3, 5, true),
                             Heartbeat(9, 1, 0)};
  ExpectSame(RoundTrip(in), in);
  HeartbeatCoalescer c;
  for (int g = 1; g <= 3; ++g) c.Add(Heartbeat(g, 1, 1));
  RaftStreamRequest request;
  c.MoveInto(request);
  EXPECT_EQ(request.heartbeats().quiesce_size(), 0);  // none: no array
}

TEST(HeartbeatCoalescerTest, CoalescedIsSmallerThanMessages) {
  HeartbeatCoalescer c;
  size_t full = 0;
  for (uint64_t g = 1000; g < 2000; ++g) {
    Message m = Heartbeat(g, 5, 123456);
    full += m.ByteSizeLong();
    c.Add(m);
  }
  RaftStreamRequest request;
  c.MoveInto(request);
  EXPECT_LT(request.ByteSizeLong() * 2, full);
}

TEST(HeartbeatCoalescerTest, OnlyPlainHeartbeatsAreTaken) {
  HeartbeatCoalescer c;
  Message with_ctx = Heartbeat(1, 1, 1);
  with_ctx.set_context("read-1");  // a ReadIndex round: the context matters
  EXPECT_FALSE(c.Add(with_ctx));
  Message reply_ctx = Response(1, 1);
  reply_ctx.set_context("read-1");
  EXPECT_FALSE(c.Add(reply_ctx));
  Message append = Heartbeat(1, 1, 1);
  append.set_type(MESSAGE_TYPE_APPEND);
  EXPECT_FALSE(c.Add(append));
  Message rejected = Response(1, 1);
  rejected.set_reject(true);
  EXPECT_FALSE(c.Add(rejected));
  EXPECT_TRUE(c.empty());
}

TEST(HeartbeatCoalescerTest, MalformedArraysAreRefused) {
  std::vector<Message> out;
  RaftStreamRequest uneven;
  uneven.mutable_heartbeats()->add_group_ids(1);
  EXPECT_EQ(
      ExpandHeartbeats(uneven, raft::NodeId(1), raft::NodeId(2), out).code(),
      absl::StatusCode::kInvalidArgument);
  RaftStreamRequest zero;
  zero.mutable_heartbeat_responses()->add_group_ids(0);
  zero.mutable_heartbeat_responses()->add_terms(1);
  EXPECT_EQ(
      ExpandHeartbeats(zero, raft::NodeId(1), raft::NodeId(2), out).code(),
      absl::StatusCode::kInvalidArgument);
  RaftStreamRequest bad_quiesce;
  bad_quiesce.mutable_heartbeats()->add_group_ids(1);
  bad_quiesce.mutable_heartbeats()->add_terms(1);
  bad_quiesce.mutable_heartbeats()->add_commits(1);
  bad_quiesce.mutable_heartbeats()->add_quiesce(true);
  bad_quiesce.mutable_heartbeats()->add_quiesce(true);
  EXPECT_EQ(ExpandHeartbeats(bad_quiesce, raft::NodeId(1), raft::NodeId(2), out)
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::broker
