// The C++ client library on three real sluiced processes: a batching
// producer and a streaming consumer keep working while a partition leader
// is kill -9ed; every acknowledged send is enqueued exactly once and
// delivered in group order, and no handler loses its lease while it works.
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "sluice/client/client.h"
#include "tests/integration/sluiced_process.h"
#include "tests/integration/test_root.h"

namespace sluice::testing {
namespace {

using client::Client;
using client::Consumer;
using client::OutgoingMessage;
using client::SendReceipt;

// Waits (bounded) for `done`, checking every 20 ms.
template <typename Predicate>
bool WaitFor(Predicate done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// What the consumer's handlers saw.
struct Deliveries {
  absl::Mutex mu;
  std::map<std::string, std::set<std::string>> ids_of_body;  // body -> ids
  std::map<std::string, int> count;                          // body -> n
  std::map<std::string, std::vector<int>> order;  // group -> first deliveries
  std::set<std::string> working;                  // bodies in a handler now
  std::vector<std::string> overlaps;  // delivered while another handler held it
  int handled = 0;
};

class ClientLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(3, TestRoot());
    ASSERT_TRUE(cluster_->StartAll().ok());
    ASSERT_NE(cluster_->WaitForLeader(1, absl::Seconds(20)), 0u);
    client::ClientOptions options;
    for (int n = 1; n <= 3; ++n) {
      options.seeds.push_back(cluster_->node(n).address());
    }
    options.default_timeout = absl::Seconds(60);
    options.retry.attempt_timeout = absl::Seconds(2);
    absl::StatusOr<std::shared_ptr<Client>> c = Client::Connect(options);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *c;
  }

  void CreateQueue(const std::string& name, uint32_t partitions, bool fifo,
                   int visibility_seconds) {
    v1::CreateQueueRequest create;
    create.set_queue_name(name);
    if (fifo) create.set_type(v1::QUEUE_TYPE_FIFO);
    create.mutable_attributes()->set_partition_count(partitions);
    create.mutable_attributes()->mutable_visibility_timeout()->set_seconds(
        visibility_seconds);
    absl::StatusOr<v1::CreateQueueResponse> r = client_->CreateQueue(create);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  std::unique_ptr<TestCluster> cluster_;
  std::shared_ptr<Client> client_;
};

TEST_F(ClientLibraryTest, ProducerAndConsumerSurviveALeaderKill) {
  constexpr int kGroups = 10;
  constexpr int kMessages = 1500;
  constexpr int kKillAt = 600;
  // Every 61st handler outlives its lease (61: spread over the groups).
  constexpr int kSlowEvery = 61;
  const absl::Duration kLease = absl::Seconds(3);
  const absl::Duration kSlow = absl::Seconds(4);
  CreateQueue("jobs.fifo", 2, true, 3);

  Deliveries seen;
  client::ConsumerOptions consumer_options;
  consumer_options.concurrency = 8;
  consumer_options.client_id = "it-consumer";
  consumer_options.lease = kLease;
  auto handler = [&](const v1::Message& m) -> absl::Status {
    const std::string body = m.body();
    // Bodies are "<group>/<k>".
    const std::vector<std::string> parts = absl::StrSplit(body, '/');
    int k = 0;
    EXPECT_TRUE(parts.size() == 2 && absl::SimpleAtoi(parts[1], &k)) << body;
    {
      absl::MutexLock lock(&seen.mu);
      if (!seen.working.insert(body).second) seen.overlaps.push_back(body);
      seen.ids_of_body[body].insert(m.message_id());
      if (seen.count[body]++ == 0) seen.order[parts[0]].push_back(k);
    }
    absl::SleepFor(k % kSlowEvery == 0 ? kSlow : absl::Milliseconds(1));
    absl::MutexLock lock(&seen.mu);
    seen.working.erase(body);
    ++seen.handled;
    return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<Consumer>> consumer =
      client_->NewConsumer("jobs.fifo", consumer_options, handler);
  ASSERT_TRUE(consumer.ok()) << consumer.status();

  // Declared before the producer: its callbacks write here until it is
  // destroyed, also when an assertion ends the test early.
  absl::Mutex mu;
  std::map<std::string, absl::Status> outcome;  // body -> send result
  client::ProducerOptions producer_options;
  producer_options.linger = absl::Milliseconds(2);
  absl::StatusOr<std::unique_ptr<client::Producer>> producer =
      client_->NewProducer("jobs.fifo", producer_options);
  ASSERT_TRUE(producer.ok()) << producer.status();

  absl::StatusOr<v1::GetQueueResponse> route = client_->GetQueue("jobs.fifo");
  ASSERT_TRUE(route.ok()) << route.status();
  const uint64_t victim = route->partition_routes(0).leader_node_id();
  ASSERT_NE(victim, 0u);

  for (int k = 1; k <= kMessages; ++k) {
    OutgoingMessage m;
    m.group_id = absl::StrCat("g", k % kGroups);
    m.body = absl::StrCat(m.group_id, "/", k);
    m.dedup_id = absl::StrCat("d", k);
    const std::string body = m.body;
    (*producer)->Send(std::move(m), [&, body](absl::StatusOr<SendReceipt> r) {
      absl::MutexLock lock(&mu);
      outcome[body] = r.status();
    });
    if (k == kKillAt) cluster_->node(static_cast<int>(victim)).Kill();
    if (k % 50 == 0) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(90)).ok());

  std::set<std::string> acknowledged;
  {
    absl::MutexLock lock(&mu);
    ASSERT_EQ(outcome.size(), static_cast<size_t>(kMessages));
    for (const auto& [body, status] : outcome) {
      EXPECT_TRUE(status.ok()) << body << ": " << status;
      if (status.ok()) acknowledged.insert(body);
    }
  }
  const bool all_handled = WaitFor(
      [&] {
        absl::MutexLock lock(&seen.mu);
        for (const std::string& body : acknowledged) {
          if (seen.count.count(body) == 0) return false;
        }
        return seen.working.empty();
      },
      absl::Seconds(90));
  (*consumer)->Stop();
  const Consumer::Stats stats = (*consumer)->stats();
  const client::Producer::Stats sent = (*producer)->stats();

  absl::MutexLock lock(&seen.mu);
  int redelivered = 0;
  for (const auto& [body, n] : seen.count) redelivered += n - 1;
  std::cout << "acknowledged " << acknowledged.size() << " of " << kMessages
            << "; send requests " << sent.requests << " (resent "
            << sent.retries << "); handled " << seen.handled << "; redelivered "
            << redelivered << "; lease extensions " << stats.extensions
            << "; leases lost " << stats.leases_lost << "; ack failures "
            << stats.ack_failures << "; reconnects " << stats.reconnects
            << "\n";
  ASSERT_TRUE(all_handled) << "not every acknowledged send was delivered";
  for (const auto& [body, ids] : seen.ids_of_body) {
    EXPECT_EQ(ids.size(), 1u) << body << " was enqueued more than once";
    EXPECT_EQ(outcome.count(body), 1u) << body << " was never sent";
  }
  for (const auto& [group, ks] : seen.order) {
    for (size_t i = 1; i < ks.size(); ++i) {
      EXPECT_LT(ks[i - 1], ks[i]) << group << " delivered out of order";
    }
  }
  EXPECT_TRUE(seen.overlaps.empty())
      << seen.overlaps.size() << " messages reached a second handler while "
      << "the first still worked on it, e.g. " << seen.overlaps.front();
  EXPECT_EQ(stats.leases_lost, 0u);
  // A message is handled twice only when the library saw its lease or ack
  // fail (and reported it): acks interrupted by the kill are retried.
  EXPECT_LE(static_cast<uint64_t>(redelivered),
            stats.leases_lost + stats.ack_failures);
  EXPECT_GE(stats.extensions, static_cast<uint64_t>(kMessages / kSlowEvery))
      << "every slow handler needed its lease extended";
}

// Regression: a stream over several partitions that all start empty makes
// the node long-poll each partition in a second round; that round used to
// read the stream's request after it was gone and crash the node.
TEST_F(ClientLibraryTest, StreamOverEmptyPartitionsDeliversAndNodesStayUp) {
  CreateQueue("work", 3, false, 30);
  absl::Mutex mu;
  std::vector<std::string> bodies;
  std::vector<uint32_t> receive_counts;
  absl::StatusOr<std::unique_ptr<Consumer>> consumer = client_->NewConsumer(
      "work", client::ConsumerOptions{}, [&](const v1::Message& m) {
        absl::MutexLock lock(&mu);
        bodies.push_back(m.body());
        receive_counts.push_back(m.receive_count());
        return absl::OkStatus();
      });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  // Give the stream time to reach its long-poll round on empty partitions.
  absl::SleepFor(absl::Seconds(1));
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 30; ++i)
    batch.push_back(OutgoingMessage::Body(absl::StrCat(i)));
  for (const auto& r : client_->Send("work", std::move(batch))) {
    ASSERT_TRUE(r.ok()) << r.status();
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return bodies.size() >= 30;
      },
      absl::Seconds(30)));
  (*consumer)->Stop();
  EXPECT_EQ((*consumer)->stats().acked, 30u);
  // The stream's parallel long polls lease and give back messages they
  // could not deliver; those receives are undone, not counted.
  absl::MutexLock lock(&mu);
  for (uint32_t count : receive_counts) EXPECT_EQ(count, 1u);
  for (int n = 1; n <= 3; ++n) {
    v1::GetClusterStatusResponse status;
    EXPECT_TRUE(cluster_->node(n).Status(&status).ok())
        << "node " << n << " is down:\n"
        << cluster_->node(n).Log();
  }
}

// Stop() finishes running handlers, acks them, and gives back what was
// received but not started, so another consumer gets it at once.
TEST_F(ClientLibraryTest, StopFinishesRunningHandlersAndReleasesTheRest) {
  CreateQueue("drain", 1, false, 60);
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 20; ++i)
    batch.push_back(OutgoingMessage::Body(absl::StrCat(i)));
  for (const auto& r : client_->Send("drain", std::move(batch))) {
    ASSERT_TRUE(r.ok()) << r.status();
  }
  absl::Mutex mu;
  int started = 0, finished = 0;
  client::ConsumerOptions options;
  options.concurrency = 2;
  options.max_outstanding_messages = 10;
  absl::StatusOr<std::unique_ptr<Consumer>> consumer =
      client_->NewConsumer("drain", options, [&](const v1::Message&) {
        {
          absl::MutexLock lock(&mu);
          ++started;
        }
        absl::SleepFor(absl::Milliseconds(300));
        absl::MutexLock lock(&mu);
        ++finished;
        return absl::OkStatus();
      });
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return started >= 2;
      },
      absl::Seconds(20)));
  (*consumer)->Stop();
  const Consumer::Stats stats = (*consumer)->stats();
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(started, finished) << "Stop waited for running handlers";
    EXPECT_EQ(stats.acked, static_cast<uint64_t>(finished));
  }
  // Everything not acked is visible again now, not after the 60 s lease.
  client::ReceiveOptions receive;
  receive.max_messages = 100;
  receive.wait = absl::Seconds(2);
  size_t left = 0;
  for (int i = 0; i < 5 && left < 20 - stats.acked; ++i) {
    absl::StatusOr<std::vector<v1::Message>> got =
        client_->Receive("drain", receive);
    ASSERT_TRUE(got.ok()) << got.status();
    left += got->size();
  }
  EXPECT_EQ(left, 20 - stats.acked);
  EXPECT_GE(stats.released, 1u);
}

}  // namespace
}  // namespace sluice::testing
