// The client library against scripted servers over real gRPC: it goes
// straight to partition leaders, follows leader hints, retries unknown
// outcomes without duplicating, and gives up at its deadline.
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "sluice/client/client.h"
#include "tests/client/fake_queues_server.h"

namespace sluice::client {
namespace {

using testing::FakePartitions;
using testing::FakeQueuesServer;
using testing::Route;
using testing::SendFailure;

class ClientGrpcTest : public ::testing::Test {
 protected:
  ClientGrpcTest()
      : partitions_(std::make_shared<FakePartitions>()),
        a_(partitions_),
        b_(partitions_) {}

  std::shared_ptr<Client> Connect(std::vector<std::string> seeds,
                                  absl::Duration timeout = absl::Seconds(10)) {
    ClientOptions options;
    options.seeds = std::move(seeds);
    options.default_timeout = timeout;
    options.retry.initial_backoff = absl::Milliseconds(5);
    options.retry.max_backoff = absl::Milliseconds(50);
    options.retry.attempt_timeout = absl::Seconds(2);
    absl::StatusOr<std::shared_ptr<Client>> client = Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return *client;
  }

  void RouteBoth(const std::vector<std::string>& leaders) {
    a_.set_route(Route("q", leaders));
    b_.set_route(Route("q", leaders));
  }

  std::shared_ptr<FakePartitions> partitions_;
  FakeQueuesServer a_;
  FakeQueuesServer b_;
};

TEST_F(ClientGrpcTest, SendsGoStraightToThePartitionLeader) {
  RouteBoth({b_.address()});
  std::shared_ptr<Client> client = Connect({a_.address()});
  absl::StatusOr<SendReceipt> r =
      client->Send("q", OutgoingMessage::Body("hi"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->duplicate);
  EXPECT_EQ(a_.get_queue_calls(), 1) << "the seed told the route";
  EXPECT_TRUE(a_.sends().empty()) << "the seed does not lead";
  ASSERT_EQ(b_.sends().size(), 1u);
  EXPECT_FALSE(b_.sends()[0].producer_id().empty());
  EXPECT_EQ(partitions_->bodies(), std::vector<std::string>{"hi"});
}

TEST_F(ClientGrpcTest, ALostAnswerIsRetriedAndNotEnqueuedTwice) {
  RouteBoth({b_.address()});
  b_.FailSends({{grpc::StatusCode::UNAVAILABLE, "", /*apply_first=*/true},
                {grpc::StatusCode::DEADLINE_EXCEEDED, "", true}});
  std::shared_ptr<Client> client = Connect({b_.address()});
  absl::StatusOr<SendReceipt> r =
      client->Send("q", OutgoingMessage::Body("once"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->duplicate) << "the server recognised the resend";
  EXPECT_EQ(partitions_->bodies(), std::vector<std::string>{"once"});
  const std::vector<v1::SendRequest> sends = b_.sends();
  ASSERT_EQ(sends.size(), 3u);
  EXPECT_EQ(sends[1].SerializeAsString(), sends[0].SerializeAsString());
  EXPECT_EQ(sends[2].SerializeAsString(), sends[0].SerializeAsString());
}

TEST_F(ClientGrpcTest, FollowsTheLeaderHintAndRemembersIt) {
  RouteBoth({a_.address()});  // stale: a no longer leads
  a_.FailSends({{grpc::StatusCode::UNAVAILABLE, b_.address(), false}});
  std::shared_ptr<Client> client = Connect({a_.address()});
  ASSERT_TRUE(client->Send("q", OutgoingMessage::Body("1")).ok());
  EXPECT_EQ(a_.sends().size(), 1u);
  EXPECT_EQ(b_.sends().size(), 1u);
  ASSERT_TRUE(client->Send("q", OutgoingMessage::Body("2")).ok());
  EXPECT_EQ(a_.sends().size(), 1u) << "the second send went to b directly";
  EXPECT_EQ(b_.sends().size(), 2u);
  EXPECT_EQ(partitions_->bodies(), (std::vector<std::string>{"1", "2"}));
}

TEST_F(ClientGrpcTest, GivesUpAtTheDeadlineWithOutcomeUnknown) {
  RouteBoth({b_.address()});
  b_.FailAllSends(grpc::StatusCode::UNAVAILABLE);
  a_.FailAllSends(grpc::StatusCode::UNAVAILABLE);
  std::shared_ptr<Client> client = Connect({a_.address()});
  const absl::Time start = absl::Now();
  absl::StatusOr<SendReceipt> r =
      client->Send("q", OutgoingMessage::Body("x"), absl::Milliseconds(400));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_GE(b_.sends().size() + a_.sends().size(), 3u) << "it did retry";
  EXPECT_LT(took, absl::Seconds(5));
}

TEST_F(ClientGrpcTest, ANonRetryableErrorIsReturnedWithoutRetrying) {
  RouteBoth({b_.address()});
  b_.FailSends({{grpc::StatusCode::PERMISSION_DENIED, "", false}});
  std::shared_ptr<Client> client = Connect({b_.address()});
  absl::StatusOr<SendReceipt> r = client->Send("q", OutgoingMessage::Body("x"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(b_.sends().size(), 1u);
  EXPECT_TRUE(partitions_->bodies().empty());
}

TEST_F(ClientGrpcTest, UnknownQueueIsNotFound) {
  RouteBoth({b_.address()});
  std::shared_ptr<Client> client = Connect({a_.address()});
  absl::StatusOr<SendReceipt> r =
      client->Send("nope", OutgoingMessage::Body("x"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientGrpcTest, ProducerBatchesAndSpreadsOverPartitions) {
  RouteBoth({a_.address(), b_.address()});
  std::shared_ptr<Client> client = Connect({a_.address()});
  ProducerOptions options;
  options.linger = absl::Milliseconds(20);
  options.requests_per_partition = 3;
  absl::StatusOr<std::unique_ptr<Producer>> producer =
      client->NewProducer("q", options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::vector<std::future<absl::StatusOr<SendReceipt>>> futures;
  for (int i = 0; i < 450; ++i) {
    futures.push_back(
        (*producer)->Send(OutgoingMessage::Body(absl::StrCat(i))));
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  std::vector<int> per_partition(2, 0);
  for (auto& f : futures) {
    absl::StatusOr<SendReceipt> r = f.get();
    ASSERT_TRUE(r.ok()) << r.status();
    ++per_partition[r->partition];
  }
  EXPECT_GT(per_partition[0], 100) << "messages without a key are spread";
  EXPECT_GT(per_partition[1], 100);
  EXPECT_EQ(partitions_->bodies().size(), 450u);
  size_t requests = 0;
  std::set<std::string> producer_ids;
  for (const FakeQueuesServer* s : {&a_, &b_}) {
    for (const v1::SendRequest& r : s->sends()) {
      ++requests;
      producer_ids.insert(r.producer_id());
      EXPECT_LE(r.entries_size(), 100);
      for (const v1::SendEntry& e : r.entries()) {
        EXPECT_EQ(s == &a_ ? 0u : 1u, e.partition())
            << "each partition's requests go to its leader";
      }
    }
  }
  EXPECT_LE(requests, 40u) << "batched, not one request per message";
  EXPECT_GT(producer_ids.size(), 2u)
      << "several requests per partition, each its own producer id";
  EXPECT_EQ((*producer)->stats().messages, 450u);
  EXPECT_EQ((*producer)->stats().requests, requests);
}

// Flush returns only once the callbacks have run: a caller may read what
// they wrote right after it (integration test flake: Flush returned while
// the last callback was still to run, then the test's state was gone).
TEST_F(ClientGrpcTest, FlushWaitsForTheCallbacksToReturn) {
  RouteBoth({a_.address()});
  std::shared_ptr<Client> client = Connect({a_.address()});
  absl::StatusOr<std::unique_ptr<Producer>> producer =
      client->NewProducer("q", ProducerOptions());
  ASSERT_TRUE(producer.ok()) << producer.status();
  absl::Notification in_callback, release;
  bool returned = false;
  (*producer)->Send(OutgoingMessage::Body("x"),
                    [&](absl::StatusOr<SendReceipt> r) {
                      EXPECT_TRUE(r.ok()) << r.status();
                      in_callback.Notify();
                      release.WaitForNotification();
                      returned = true;
                    });
  in_callback.WaitForNotification();
  // The message is sent and acknowledged; its callback has not returned.
  EXPECT_EQ((*producer)->Flush(absl::Milliseconds(300)).code(),
            absl::StatusCode::kDeadlineExceeded);
  release.Notify();
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  EXPECT_TRUE(returned);
}

// Several requests per partition may be in flight, but a FIFO group always
// uses the same one: its messages are enqueued in the order they were sent.
TEST_F(ClientGrpcTest, ProducerKeepsEachFifoGroupInOrder) {
  a_.set_route(Route("q.fifo", {a_.address(), a_.address()}, true));
  std::shared_ptr<Client> client = Connect({a_.address()});
  ProducerOptions options;
  options.linger = absl::ZeroDuration();
  options.max_batch_messages = 7;  // many small requests
  options.requests_per_partition = 4;
  absl::StatusOr<std::unique_ptr<Producer>> producer =
      client->NewProducer("q.fifo", options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  for (int i = 0; i < 600; ++i) {
    OutgoingMessage m =
        OutgoingMessage::Body(absl::StrCat("g", i % 12, "/", i));
    m.group_id = absl::StrCat("g", i % 12);
    m.dedup_id = absl::StrCat("d", i);
    (*producer)->Send(std::move(m), [](absl::StatusOr<SendReceipt>) {});
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  std::map<std::string, int> last;
  const std::vector<std::string> bodies = partitions_->bodies();
  ASSERT_EQ(bodies.size(), 600u);
  for (const std::string& body : bodies) {
    const size_t slash = body.find('/');
    const std::string group = body.substr(0, slash);
    const int k = std::stoi(body.substr(slash + 1));
    auto it = last.find(group);
    if (it != last.end()) {
      EXPECT_LT(it->second, k) << group;
    }
    last[group] = k;
  }
}

TEST_F(ClientGrpcTest, FifoMessagesNeedAGroupAndGoToTheGroupsPartition) {
  a_.set_route(
      Route("q.fifo", {a_.address(), b_.address(), a_.address()}, true));
  std::shared_ptr<Client> client = Connect({a_.address()});
  absl::StatusOr<SendReceipt> no_group =
      client->Send("q.fifo", OutgoingMessage::Body("x"));
  EXPECT_EQ(no_group.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(a_.sends().empty()) << "refused before sending";
}

}  // namespace
}  // namespace sluice::client
