// What users trust a queue for, on three real sluiced processes: a FIFO
// queue keeps every acknowledged send, group order and leases when its
// partition leader is kill -9ed mid-stream; a whole cluster killed at once
// comes back with every message; a leader stopped with SIGTERM hands over
// without a single failed send.
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/queues_client.h"
#include "tests/integration/sluiced_process.h"
#include "tests/integration/test_root.h"

namespace sluice::testing {
namespace {

using Stub = v1::Queues::Stub;

bool Retryable(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(3, TestRoot());
    ASSERT_TRUE(cluster_->StartAll().ok());
    ASSERT_NE(cluster_->WaitForLeader(1, absl::Seconds(20)), 0u);
  }

  void CreateQueue(const std::string& name, uint32_t partitions,
                   int visibility_seconds = 30) {
    QueuesClient admin(cluster_->node(1).address());
    v1::CreateQueueRequest create;
    create.set_queue_name(name);
    create.mutable_attributes()->set_partition_count(partitions);
    create.mutable_attributes()->mutable_visibility_timeout()->set_seconds(
        visibility_seconds);
    v1::CreateQueueResponse created;
    CallResult r = admin.Call(&Stub::CreateQueue, create, &created);
    ASSERT_TRUE(r.ok()) << r.status.error_message();
  }

  // The leader of `partition` as any running node reports it; 0 if none.
  uint64_t PartitionLeader(const std::string& queue, uint32_t partition,
                           int ask = 0) {
    for (int i = 0; i < 400; ++i) {
      for (int node = 1; node <= 3; ++node) {
        if (ask != 0 && node != ask) continue;
        if (!cluster_->node(node).running()) continue;
        QueuesClient client(cluster_->node(node).address(), absl::Seconds(2));
        v1::GetQueueRequest request;
        request.set_queue_name(queue);
        v1::GetQueueResponse response;
        if (client.Call(&Stub::GetQueue, request, &response).ok() &&
            response.partition_routes_size() > static_cast<int>(partition)) {
          const uint64_t leader =
              response.partition_routes(partition).leader_node_id();
          if (leader != 0 && cluster_->node(static_cast<int>(leader)).running())
            return leader;
        }
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return 0;
  }

  std::unique_ptr<TestCluster> cluster_;
};

// A FIFO message as the consumer saw it.
struct Delivery {
  std::string group;
  int k = 0;
  std::string message_id;
  absl::Time at;
};

TEST_F(FailoverTest, FifoLeaderKilledMidStreamKeepsSendsOrderAndLeases) {
  constexpr int kGroups = 4;
  constexpr int kRequests = 60;
  constexpr int kKillAfter = 20;
  constexpr int kVisibility = 4;
  CreateQueue("orders.fifo", 1, kVisibility);
  const uint64_t leader = PartitionLeader("orders.fifo", 0);
  ASSERT_NE(leader, 0u);
  const int via = static_cast<int>(leader % 3 + 1);  // never the leader
  const std::string address = cluster_->node(via).address();

  // An idempotent producer: one request in flight, each retried with the
  // same sequence numbers until it is acknowledged.
  absl::Mutex mu;
  std::set<std::pair<std::string, int>> acked;
  int sent_requests = 0;
  std::thread producer([&] {
    QueuesClient client(address, absl::Seconds(5));
    const absl::Time give_up = absl::Now() + absl::Seconds(90);
    for (int k = 1; k <= kRequests && absl::Now() < give_up; ++k) {
      v1::SendRequest send;
      send.set_queue_name("orders.fifo");
      send.set_producer_id("fifo-producer");
      auto* seq = send.add_producer_sequences();
      seq->set_partition(0);
      seq->set_first_sequence(static_cast<uint64_t>((k - 1) * kGroups + 1));
      for (int g = 0; g < kGroups; ++g) {
        auto* e = send.add_entries();
        e->set_entry_id(absl::StrCat("g", g));
        e->set_group_id(absl::StrCat("g", g));
        e->set_dedup_id(absl::StrCat("g", g, "-", k));
        e->set_body(absl::StrCat("g", g, ":", k));
        e->set_partition(0);
      }
      while (absl::Now() < give_up) {
        v1::SendResponse response;
        CallResult r = client.Call(&Stub::Send, send, &response);
        if (!r.ok()) {
          ASSERT_TRUE(Retryable(r.status)) << r.status.error_message();
          absl::SleepFor(absl::Milliseconds(20));
          continue;
        }
        bool all_ok = true;
        for (const auto& result : response.results()) {
          if (result.status().code() != 0) all_ok = false;
        }
        if (!all_ok) {
          absl::SleepFor(absl::Milliseconds(20));
          continue;
        }
        absl::MutexLock lock(&mu);
        for (int g = 0; g < kGroups; ++g)
          acked.insert({absl::StrCat("g", g), k});
        ++sent_requests;
        break;
      }
    }
  });

  // Wait for some traffic, then lease one message and hold it.
  while (true) {
    absl::MutexLock lock(&mu);
    if (sent_requests >= 5) break;
    mu.AwaitWithTimeout(absl::Condition(
                            +[](int* n) { return *n >= 5; }, &sent_requests),
                        absl::Milliseconds(50));
  }
  QueuesClient holder(address);
  v1::ReceiveRequest hold;
  hold.set_queue_name("orders.fifo");
  hold.set_max_messages(1);
  const absl::Time held_at = absl::Now();  // before the lease was granted
  v1::ReceiveResponse held;
  ASSERT_TRUE(holder.Call(&Stub::Receive, hold, &held).ok());
  ASSERT_EQ(held.messages_size(), 1);
  const std::string held_group = held.messages(0).group_id();
  const absl::Time lease_end = held_at + absl::Seconds(kVisibility);

  // The consumer: receive, record, delete; until every acked send is seen.
  std::vector<Delivery> deliveries;
  std::set<std::pair<std::string, int>> deleted;
  std::map<std::pair<std::string, int>, absl::Time> deleted_at;
  std::vector<std::string> consumer_log;
  std::atomic<bool> producing{true};
  std::thread consumer([&] {
    QueuesClient client(address, absl::Seconds(5));
    const absl::Time give_up = absl::Now() + absl::Seconds(120);
    while (absl::Now() < give_up) {
      {
        absl::MutexLock lock(&mu);
        if (!producing && deleted.size() >= acked.size()) break;
      }
      v1::ReceiveRequest receive;
      receive.set_queue_name("orders.fifo");
      receive.set_max_messages(10);
      receive.mutable_wait_time()->set_seconds(1);
      v1::ReceiveResponse response;
      CallResult received = client.Call(&Stub::Receive, receive, &response);
      if (!received.ok()) {
        consumer_log.push_back(
            absl::StrCat("receive: ", received.status.error_message()));
        absl::SleepFor(absl::Milliseconds(50));
        continue;
      }
      const absl::Time now = absl::Now();
      // Deliveries to delete: index into `deliveries` and receipt handle.
      std::vector<std::pair<size_t, std::string>> pending;
      for (const auto& m : response.messages()) {
        const size_t colon = m.body().find(':');
        Delivery d{m.group_id(), std::stoi(m.body().substr(colon + 1)),
                   m.message_id(), now};
        consumer_log.push_back(absl::StrCat(
            absl::FormatTime("%H:%M:%E3S", now, absl::UTCTimeZone()), " got ",
            d.group, ":", d.k, " rc=", m.receive_count()));
        deliveries.push_back(d);
        pending.emplace_back(deliveries.size() - 1, m.receipt_handle());
      }
      // Delete, retrying entries whose outcome is unknown (delete is
      // idempotent); a stale handle means the lease ran out meanwhile.
      for (int attempt = 0; attempt < 100 && !pending.empty(); ++attempt) {
        v1::DeleteRequest del;
        del.set_queue_name("orders.fifo");
        for (const auto& [index, handle] : pending) {
          auto* e = del.add_entries();
          e->set_entry_id(absl::StrCat("d", index));
          e->set_receipt_handle(handle);
        }
        v1::DeleteResponse deleted_response;
        CallResult r = client.Call(&Stub::Delete, del, &deleted_response);
        if (!r.ok()) {
          consumer_log.push_back(
              absl::StrCat("delete: ", r.status.error_message()));
          absl::SleepFor(absl::Milliseconds(50));
          continue;
        }
        std::vector<std::pair<size_t, std::string>> again;
        for (int i = 0; i < deleted_response.results_size(); ++i) {
          const Delivery& d = deliveries[pending[i].first];
          const auto& status = deleted_response.results(i).status();
          if (status.code() == 0) {
            deleted.insert({d.group, d.k});
            deleted_at.emplace(std::make_pair(d.group, d.k), absl::Now());
            continue;
          }
          consumer_log.push_back(absl::StrCat("delete ", d.group, ":", d.k,
                                              ": ", status.message()));
          if (Retryable(grpc::Status(
                  static_cast<grpc::StatusCode>(status.code()), ""))) {
            again.push_back(pending[i]);
          }
        }
        pending = std::move(again);
        if (!pending.empty()) absl::SleepFor(absl::Milliseconds(50));
      }
    }
  });

  // Kill the partition leader mid-stream.
  while (true) {
    absl::MutexLock lock(&mu);
    if (sent_requests >= kKillAfter) break;
    mu.AwaitWithTimeout(
        absl::Condition(
            +[](int* n) { return *n >= kKillAfter; }, &sent_requests),
        absl::Milliseconds(50));
  }
  cluster_->node(static_cast<int>(leader)).Kill();
  const absl::Time killed_at = absl::Now();
  producer.join();
  producing = false;
  consumer.join();

  absl::MutexLock lock(&mu);
  ASSERT_EQ(sent_requests, kRequests) << "the producer gave up";
  std::string trace;
  for (const auto& line : consumer_log) absl::StrAppend(&trace, "\n", line);
  EXPECT_EQ(deleted.size(), acked.size());
  // Every acknowledged send was delivered.
  std::set<std::pair<std::string, int>> seen;
  for (const Delivery& d : deliveries) seen.insert({d.group, d.k});
  for (const auto& a : acked) {
    EXPECT_TRUE(seen.count(a) > 0) << a.first << ":" << a.second << " lost";
  }
  // Group order: first deliveries come in send order without gaps; and no
  // message is delivered (again) once a later one of its group was deleted.
  std::map<std::string, int> first_max;
  for (const Delivery& d : deliveries) {
    int& m = first_max[d.group];
    if (d.k > m) {
      EXPECT_EQ(d.k, m + 1) << d.group << ": " << d.k << " first delivered "
                            << "right after " << m;
      m = d.k;
    }
    for (const auto& [key, at] : deleted_at) {
      if (key.first == d.group && key.second > d.k) {
        EXPECT_LT(d.at, at) << d.group << ":" << d.k << " delivered after "
                            << key.first << ":" << key.second << " was deleted";
      }
    }
  }
  // The held lease was not handed to anyone before it ran out: nothing of
  // its group was delivered earlier.
  for (const Delivery& d : deliveries) {
    if (d.group == held_group) {
      EXPECT_GE(d.at, lease_end) << "group " << d.group << " message " << d.k
                                 << " delivered while the lease was held";
    }
  }
  if (HasFailure()) {
    ADD_FAILURE() << "killed node " << leader << " at "
                  << absl::FormatTime("%H:%M:%E3S", killed_at,
                                      absl::UTCTimeZone())
                  << "\n"
                  << trace;
  }
}

TEST_F(FailoverTest, WholeClusterKilledKeepsEveryAcknowledgedMessage) {
  CreateQueue("keep", 2);
  QueuesClient client(cluster_->node(1).address());
  std::set<std::string> sent;
  for (int batch = 0; batch < 6; ++batch) {
    v1::SendRequest send;
    send.set_queue_name("keep");
    for (int i = 0; i < 50; ++i) {
      auto* e = send.add_entries();
      e->set_entry_id(absl::StrCat("e", i));
      e->set_body(absl::StrCat("m-", batch, "-", i));
    }
    v1::SendResponse response;
    CallResult r = client.Call(&Stub::Send, send, &response);
    ASSERT_TRUE(r.ok()) << r.status.error_message();
    for (int i = 0; i < response.results_size(); ++i) {
      ASSERT_EQ(response.results(i).status().code(), 0);
      sent.insert(send.entries(i).body());
    }
  }
  for (int node = 1; node <= 3; ++node) cluster_->node(node).Kill();
  for (int node = 1; node <= 3; ++node) {
    ASSERT_TRUE(cluster_->node(node).Start().ok());
  }
  ASSERT_NE(PartitionLeader("keep", 0), 0u);
  ASSERT_NE(PartitionLeader("keep", 1), 0u);

  QueuesClient reader(cluster_->node(2).address());
  std::set<std::string> received;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (received.size() < sent.size() && absl::Now() < give_up) {
    v1::ReceiveRequest receive;
    receive.set_queue_name("keep");
    receive.set_max_messages(100);
    receive.mutable_wait_time()->set_seconds(1);
    v1::ReceiveResponse response;
    if (!reader.Call(&Stub::Receive, receive, &response).ok()) {
      absl::SleepFor(absl::Milliseconds(50));
      continue;
    }
    for (const auto& m : response.messages()) received.insert(m.body());
  }
  EXPECT_EQ(received, sent);
}

TEST_F(FailoverTest, SigtermOfTheLeaderFailsNoSend) {
  CreateQueue("steady", 1);
  const uint64_t leader = PartitionLeader("steady", 0);
  ASSERT_NE(leader, 0u);
  const int via = static_cast<int>(leader % 3 + 1);
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0};
  std::vector<std::string> failures;
  std::thread producer([&] {
    QueuesClient client(cluster_->node(via).address(), absl::Seconds(10));
    int n = 0;
    while (!stop) {
      v1::SendRequest send;
      send.set_queue_name("steady");
      for (int i = 0; i < 5; ++i) {
        auto* e = send.add_entries();
        e->set_entry_id(absl::StrCat("e", i));
        e->set_body(absl::StrCat("m", n++));
      }
      v1::SendResponse response;
      CallResult r = client.Call(&Stub::Send, send, &response);
      if (!r.ok()) {
        failures.push_back(r.status.error_message());
        continue;
      }
      for (const auto& result : response.results()) {
        if (result.status().code() == 0) {
          ++acked;
        } else {
          failures.push_back(result.status().message());
        }
      }
    }
  });
  while (acked < 200) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(
      cluster_->node(static_cast<int>(leader)).Terminate(absl::Seconds(30)), 0);
  const int at_exit = acked;
  while (acked < at_exit + 200) absl::SleepFor(absl::Milliseconds(10));
  stop = true;
  producer.join();
  EXPECT_THAT(failures, ::testing::IsEmpty());
  const uint64_t next = PartitionLeader("steady", 0);
  EXPECT_NE(next, 0u);
  EXPECT_NE(next, leader);

  // Every acknowledged message is there, once.
  v1::GetQueueStatsRequest stats_request;
  stats_request.set_queue_name("steady");
  v1::GetQueueStatsResponse stats;
  QueuesClient client(cluster_->node(via).address());
  ASSERT_TRUE(client.Call(&Stub::GetQueueStats, stats_request, &stats).ok());
  EXPECT_EQ(stats.counts().visible_count(), static_cast<uint64_t>(acked));
}

TEST_F(FailoverTest, LeadershipsRebalanceWhenANodeComesBack) {
  CreateQueue("spread", 3);
  // Placement spreads the three partitions' leaders over the three nodes.
  // The preferred leader campaigns as soon as it creates its replica; if a
  // peer has not started its replica yet, that first campaign can fail and
  // another member win the election; rebalancing then hands the partition
  // to its preferred leader within about a second.
  auto spread = [&](int ask) {
    std::set<uint64_t> leaders;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      leaders.clear();
      for (uint32_t p = 0; p < 3; ++p) {
        leaders.insert(PartitionLeader("spread", p, ask));
      }
      if (leaders == std::set<uint64_t>{1, 2, 3}) break;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return leaders;
  };
  ASSERT_EQ(spread(0), (std::set<uint64_t>{1, 2, 3}));

  cluster_->node(3).Kill();
  for (uint32_t p = 0; p < 3; ++p) {
    const uint64_t l = PartitionLeader("spread", p);
    ASSERT_NE(l, 0u);
    EXPECT_NE(l, 3u);
  }
  ASSERT_TRUE(cluster_->node(3).Start().ok());
  // Node 3 catches up and gets its partition back, without any request.
  EXPECT_EQ(spread(/*ask=*/3), (std::set<uint64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace sluice::testing
