// Every Queues RPC end to end on three real sluiced processes, always
// through a node that is NOT the leader of the group concerned, so each
// call is forwarded one hop.
#include <filesystem>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sluice/v1/cluster.grpc.pb.h"
#include "tests/integration/queues_client.h"
#include "tests/integration/sluiced_process.h"
#include "tests/integration/test_root.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using Stub = v1::Queues::Stub;

constexpr uint64_t kMetadataGroup = 1;

google::protobuf::Duration Seconds(int64_t s) {
  google::protobuf::Duration d;
  d.set_seconds(s);
  return d;
}

class QueuesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(3, TestRoot());
    ASSERT_TRUE(cluster_->StartAll().ok());
    meta_leader_ = cluster_->WaitForLeader(kMetadataGroup, absl::Seconds(20));
    ASSERT_NE(meta_leader_, 0u);
  }

  // A node other than `leader`.
  QueuesClient ClientAvoiding(uint64_t leader) {
    const int node = leader == 1 ? 2 : 1;
    return QueuesClient(cluster_->node(node).address());
  }

  // The partition's leader per GetQueue (asked of any node), waiting for one.
  uint64_t PartitionLeader(const std::string& queue, uint32_t partition) {
    QueuesClient client(cluster_->node(1).address());
    for (int i = 0; i < 200; ++i) {
      v1::GetQueueRequest request;
      request.set_queue_name(queue);
      v1::GetQueueResponse response;
      if (client.Call(&Stub::GetQueue, request, &response).ok() &&
          response.partition_routes_size() > static_cast<int>(partition) &&
          response.partition_routes(partition).leader_node_id() != 0) {
        return response.partition_routes(partition).leader_node_id();
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return 0;
  }

  std::unique_ptr<TestCluster> cluster_;
  uint64_t meta_leader_ = 0;
};

TEST_F(QueuesApiTest, QueueManagementThroughAFollower) {
  QueuesClient client = ClientAvoiding(meta_leader_);
  v1::CreateQueueRequest create;
  create.set_queue_name("orders");
  create.mutable_attributes()->set_partition_count(2);
  *create.mutable_attributes()->mutable_visibility_timeout() = Seconds(10);
  (*create.mutable_tags())["team"] = "billing";
  v1::CreateQueueResponse created;
  CallResult r = client.Call(&Stub::CreateQueue, create, &created);
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_TRUE(created.created());
  EXPECT_EQ(created.queue().type(), v1::QUEUE_TYPE_STANDARD);
  EXPECT_EQ(created.queue().attributes().partition_count(), 2u);
  EXPECT_EQ(created.queue().attributes().replication_factor(), 3u);
  EXPECT_EQ(created.queue().attributes().message_retention().seconds(),
            4 * 24 * 3600);
  EXPECT_NE(created.queue().queue_id(), 0u);

  // The same request again is idempotent; other attributes conflict.
  v1::CreateQueueResponse again;
  ASSERT_TRUE(client.Call(&Stub::CreateQueue, create, &again).ok());
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.queue().queue_id(), created.queue().queue_id());
  *create.mutable_attributes()->mutable_visibility_timeout() = Seconds(11);
  r = client.Call(&Stub::CreateQueue, create, &again);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(r.Trailer("sluice-error-reason"),
            "QUEUE_EXISTS_WITH_DIFFERENT_ATTRIBUTES");
  EXPECT_THAT(r.status.error_message(), HasSubstr("visibility_timeout"));

  // Bad names and values name the field.
  v1::CreateQueueRequest bad;
  bad.set_queue_name("no spaces");
  r = client.Call(&Stub::CreateQueue, bad, &again);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.Trailer("sluice-error-field"), "queue_name");
  bad.set_queue_name("fine");
  *bad.mutable_attributes()->mutable_visibility_timeout() = Seconds(13 * 3600);
  r = client.Call(&Stub::CreateQueue, bad, &again);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.Trailer("sluice-error-field"), "attributes.visibility_timeout");

  v1::CreateQueueRequest fifo;
  fifo.set_queue_name("jobs.fifo");
  v1::CreateQueueResponse fifo_created;
  ASSERT_TRUE(client.Call(&Stub::CreateQueue, fifo, &fifo_created).ok());
  EXPECT_EQ(fifo_created.queue().type(), v1::QUEUE_TYPE_FIFO);

  // GetQueue from every node shows the routes with leaders.
  for (int node = 1; node <= 3; ++node) {
    QueuesClient any(cluster_->node(node).address());
    v1::GetQueueRequest get;
    get.set_queue_name("orders");
    v1::GetQueueResponse got;
    ASSERT_TRUE(any.Call(&Stub::GetQueue, get, &got).ok());
    EXPECT_EQ(got.queue().tags().at("team"), "billing");
    ASSERT_EQ(got.partition_routes_size(), 2);
    EXPECT_NE(got.partition_routes(1).leader_node_id(), 0u);
    EXPECT_FALSE(got.partition_routes(1).leader_address().empty());
  }

  // ListQueues pages in name order.
  v1::ListQueuesRequest list;
  list.set_page_size(1);
  v1::ListQueuesResponse page;
  ASSERT_TRUE(client.Call(&Stub::ListQueues, list, &page).ok());
  ASSERT_EQ(page.queues_size(), 1);
  EXPECT_EQ(page.queues(0).queue_name(), "jobs.fifo");
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(client.Call(&Stub::ListQueues, list, &page).ok());
  ASSERT_EQ(page.queues_size(), 1);
  EXPECT_EQ(page.queues(0).queue_name(), "orders");
  EXPECT_TRUE(page.next_page_token().empty());

  // UpdateQueue with a mask; partition_count is fixed.
  v1::UpdateQueueRequest update;
  update.set_queue_name("orders");
  *update.mutable_attributes()->mutable_visibility_timeout() = Seconds(42);
  update.mutable_update_mask()->add_paths("attributes.visibility_timeout");
  v1::UpdateQueueResponse updated;
  r = client.Call(&Stub::UpdateQueue, update, &updated);
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_EQ(updated.queue().attributes().visibility_timeout().seconds(), 42);
  EXPECT_EQ(updated.queue().tags().at("team"), "billing");
  update.mutable_attributes()->set_partition_count(3);
  update.mutable_update_mask()->add_paths("attributes.partition_count");
  r = client.Call(&Stub::UpdateQueue, update, &updated);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.Trailer("sluice-error-reason"), "ATTRIBUTE_IMMUTABLE");

  // A DLQ in use cannot be deleted without force.
  v1::CreateQueueRequest with_dlq;
  with_dlq.set_queue_name("jobs2.fifo");
  auto* policy = with_dlq.mutable_attributes()->mutable_redrive_policy();
  policy->set_dead_letter_queue_name("jobs.fifo");
  policy->set_max_receive_count(3);
  ASSERT_TRUE(client.Call(&Stub::CreateQueue, with_dlq, &again).ok());
  v1::DeleteQueueRequest del;
  del.set_queue_name("jobs.fifo");
  v1::DeleteQueueResponse deleted;
  r = client.Call(&Stub::DeleteQueue, del, &deleted);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(r.Trailer("sluice-error-reason"), "QUEUE_IN_USE_AS_DEAD_LETTER");
  del.set_force(true);
  ASSERT_TRUE(client.Call(&Stub::DeleteQueue, del, &deleted).ok());
  v1::GetQueueRequest get;
  get.set_queue_name("jobs.fifo");
  v1::GetQueueResponse got;
  for (int i = 0; i < 100; ++i) {  // the follower applies the delete shortly
    r = client.Call(&Stub::GetQueue, get, &got);
    if (!r.ok()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(r.Trailer("sluice-error-reason"), "QUEUE_NOT_FOUND");
}

TEST_F(QueuesApiTest, MessagesThroughANonLeader) {
  QueuesClient admin(cluster_->node(1).address());
  v1::CreateQueueRequest create;
  create.set_queue_name("work");
  v1::CreateQueueResponse created;
  ASSERT_TRUE(admin.Call(&Stub::CreateQueue, create, &created).ok());
  const uint64_t leader = PartitionLeader("work", 0);
  ASSERT_NE(leader, 0u);
  QueuesClient client = ClientAvoiding(leader);

  v1::SendRequest send;
  send.set_queue_name("work");
  for (int i = 0; i < 10; ++i) {
    v1::SendEntry* e = send.add_entries();
    e->set_entry_id(absl::StrCat("e", i));
    e->set_body(absl::StrCat("job-", i));
    (*e->mutable_attributes())["n"].set_number_value(absl::StrCat(i));
  }
  v1::SendResponse sent;
  CallResult r = client.Call(&Stub::Send, send, &sent);
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  ASSERT_EQ(sent.results_size(), 10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(sent.results(i).entry_id(), absl::StrCat("e", i));
    EXPECT_EQ(sent.results(i).status().code(), 0)
        << sent.results(i).status().message();
    EXPECT_FALSE(sent.results(i).message_id().empty());
  }
  // Served one hop away: the answer names the leader.
  EXPECT_EQ(r.Trailer("sluice-leader-node-id"), absl::StrCat(leader));
  EXPECT_EQ(r.Trailer("sluice-leader"),
            cluster_->node(static_cast<int>(leader)).address());

  // A bad entry fails alone, naming its field.
  v1::SendRequest bad = send;
  bad.mutable_entries()->DeleteSubrange(1, 9);
  (*bad.mutable_entries(0)->mutable_attributes())["AWS.x"].set_string_value("");
  v1::SendResponse bad_sent;
  ASSERT_TRUE(client.Call(&Stub::Send, bad, &bad_sent).ok());
  EXPECT_EQ(bad_sent.results(0).status().code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Peek sees them all without leasing.
  v1::PeekRequest peek;
  peek.set_queue_name("work");
  v1::PeekResponse peeked;
  ASSERT_TRUE(client.Call(&Stub::Peek, peek, &peeked).ok());
  EXPECT_EQ(peeked.messages_size(), 10);

  // Receive with a long poll, change one lease, delete the rest.
  v1::ReceiveRequest receive;
  receive.set_queue_name("work");
  receive.set_max_messages(10);
  *receive.mutable_wait_time() = Seconds(2);
  v1::ReceiveResponse received;
  ASSERT_TRUE(client.Call(&Stub::Receive, receive, &received).ok());
  ASSERT_EQ(received.messages_size(), 10);
  std::set<std::string> bodies;
  for (const auto& m : received.messages()) {
    bodies.insert(m.body());
    EXPECT_FALSE(m.receipt_handle().empty());
    EXPECT_EQ(m.receive_count(), 1u);
  }
  EXPECT_EQ(bodies.size(), 10u);

  v1::ChangeVisibilityRequest change;
  change.set_queue_name("work");
  auto* ce = change.add_entries();
  ce->set_entry_id("c");
  ce->set_receipt_handle(received.messages(0).receipt_handle());
  *ce->mutable_visibility_timeout() = Seconds(0);
  v1::ChangeVisibilityResponse changed;
  ASSERT_TRUE(client.Call(&Stub::ChangeVisibility, change, &changed).ok());
  EXPECT_EQ(changed.results(0).status().code(), 0)
      << changed.results(0).status().message();

  v1::DeleteRequest del;
  del.set_queue_name("work");
  for (int i = 1; i < 10; ++i) {
    auto* e = del.add_entries();
    e->set_entry_id(absl::StrCat("d", i));
    e->set_receipt_handle(received.messages(i).receipt_handle());
  }
  v1::DeleteResponse deleted;
  ASSERT_TRUE(client.Call(&Stub::Delete, del, &deleted).ok());
  for (const auto& result : deleted.results()) {
    EXPECT_EQ(result.status().code(), 0) << result.status().message();
  }
  // The stale handle of the released message no longer deletes it... but
  // its current lease does after a new receive.
  received.Clear();
  ASSERT_TRUE(client.Call(&Stub::Receive, receive, &received).ok());
  ASSERT_EQ(received.messages_size(), 1);
  EXPECT_EQ(received.messages(0).receive_count(), 2u);

  v1::GetQueueStatsRequest stats_request;
  stats_request.set_queue_name("work");
  stats_request.set_include_partitions(true);
  v1::GetQueueStatsResponse stats;
  ASSERT_TRUE(client.Call(&Stub::GetQueueStats, stats_request, &stats).ok());
  EXPECT_EQ(stats.counts().visible_count(), 0u);
  EXPECT_EQ(stats.counts().in_flight_count(), 1u);
  ASSERT_EQ(stats.partitions_size(), 1);
  EXPECT_EQ(stats.partitions(0).leader_node_id(), leader);
  EXPECT_TRUE(stats.partitions(0).available());

  // The leader's metrics show the queue.
  absl::StatusOr<std::string> metrics = HttpGet(
      cluster_->node(static_cast<int>(leader)).metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr(absl::StrCat(
                            "sluice_queue_in_flight_messages{node=\"", leader,
                            "\",partition=\"0\",queue=\"work\"} 1")));
  EXPECT_THAT(*metrics, HasSubstr("sluice_queue_sent_total{"));
  EXPECT_THAT(*metrics, HasSubstr("sluice_storage_fsync_seconds_count"));

  v1::PurgeQueueRequest purge;
  purge.set_queue_name("work");
  v1::PurgeQueueResponse purged;
  ASSERT_TRUE(client.Call(&Stub::PurgeQueue, purge, &purged).ok());
  EXPECT_EQ(purged.purged_count(), 1u);

  // Unknown queue: NOT_FOUND with the reason.
  receive.set_queue_name("nope");
  r = client.Call(&Stub::Receive, receive, &received);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(r.Trailer("sluice-error-reason"), "QUEUE_NOT_FOUND");
}

TEST_F(QueuesApiTest, StreamReceiveWithCreditsAcksAndNacks) {
  QueuesClient admin(cluster_->node(1).address());
  v1::CreateQueueRequest create;
  create.set_queue_name("stream");
  create.mutable_attributes()->set_partition_count(2);
  v1::CreateQueueResponse created;
  ASSERT_TRUE(admin.Call(&Stub::CreateQueue, create, &created).ok());
  const uint64_t leader = PartitionLeader("stream", 0);
  ASSERT_NE(leader, 0u);
  QueuesClient client = ClientAvoiding(leader);
  v1::SendRequest send;
  send.set_queue_name("stream");
  for (int i = 0; i < 6; ++i) {
    auto* e = send.add_entries();
    e->set_entry_id(absl::StrCat("e", i));
    e->set_body(absl::StrCat("m", i));
    e->set_partition(static_cast<uint32_t>(i % 2));
  }
  v1::SendResponse sent;
  ASSERT_TRUE(client.Call(&Stub::Send, send, &sent).ok());
  for (const auto& result : sent.results()) {
    ASSERT_EQ(result.status().code(), 0) << result.status().message();
  }

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  auto stream = client.stub().StreamReceive(&context);
  v1::StreamReceiveRequest start;
  start.mutable_start()->set_queue_name("stream");
  start.mutable_start()->mutable_initial_credits()->set_messages(4);
  ASSERT_TRUE(stream->Write(start));
  v1::StreamReceiveResponse item;
  ASSERT_TRUE(stream->Read(&item));
  ASSERT_TRUE(item.has_started()) << item.DebugString();
  EXPECT_EQ(item.started().queue_type(), v1::QUEUE_TYPE_STANDARD);

  // Exactly the credit is delivered.
  std::vector<v1::Message> messages;
  while (messages.size() < 4) {
    ASSERT_TRUE(stream->Read(&item));
    if (!item.has_messages()) continue;
    for (const auto& m : item.messages().messages()) messages.push_back(m);
  }
  EXPECT_EQ(messages.size(), 4u);

  // Ack two, nack one, extend one; each answered per handle.
  v1::StreamReceiveRequest ack;
  ack.set_correlation_id(7);
  ack.mutable_ack()->add_receipt_handles(messages[0].receipt_handle());
  ack.mutable_ack()->add_receipt_handles(messages[1].receipt_handle());
  ASSERT_TRUE(stream->Write(ack));
  v1::StreamReceiveRequest nack;
  nack.set_correlation_id(8);
  nack.mutable_nack()->add_receipt_handles(messages[2].receipt_handle());
  ASSERT_TRUE(stream->Write(nack));
  v1::StreamReceiveRequest extend;
  extend.set_correlation_id(9);
  extend.mutable_extend_lease()->add_receipt_handles(
      messages[3].receipt_handle());
  *extend.mutable_extend_lease()->mutable_visibility_timeout() = Seconds(60);
  ASSERT_TRUE(stream->Write(extend));
  std::map<uint64_t, v1::StreamItemResult> results;
  while (results.size() < 3) {
    ASSERT_TRUE(stream->Read(&item));
    for (const auto& result : item.results().results()) {
      results[result.correlation_id()] = result;
    }
  }
  for (uint64_t id : {7, 8, 9}) {
    EXPECT_EQ(results[id].status().code(), 0)
        << id << ": " << results[id].DebugString();
  }
  EXPECT_EQ(results[7].receipt_results_size(), 2);
  EXPECT_TRUE(results[9].receipt_results(0).has_lease_deadline());

  // More credit: the nacked message and the two never delivered arrive.
  v1::StreamReceiveRequest credits;
  credits.mutable_credits()->set_messages(10);
  ASSERT_TRUE(stream->Write(credits));
  std::set<std::string> second;
  while (second.size() < 3) {
    ASSERT_TRUE(stream->Read(&item));
    for (const auto& m : item.messages().messages()) second.insert(m.body());
  }
  EXPECT_EQ(second.count(messages[2].body()), 1u);
  stream->WritesDone();
  context.TryCancel();
  stream->Finish();
}

TEST_F(QueuesApiTest, ClusterStatusShowsPartitionsProgressAndLiveness) {
  QueuesClient admin(cluster_->node(1).address());
  v1::CreateQueueRequest create;
  create.set_queue_name("tracked");
  create.mutable_attributes()->set_partition_count(2);
  v1::CreateQueueResponse created;
  ASSERT_TRUE(admin.Call(&Stub::CreateQueue, create, &created).ok());
  const uint64_t leader = PartitionLeader("tracked", 0);
  ASSERT_NE(leader, 0u);

  auto cluster_stub = v1::Cluster::NewStub(
      grpc::CreateChannel(cluster_->node(static_cast<int>(leader)).address(),
                          grpc::InsecureChannelCredentials()));
  v1::GetClusterStatusRequest request;
  request.set_include_groups(true);
  request.set_queue_name("tracked");
  v1::GetClusterStatusResponse status;
  // Every follower acknowledges the leader's entries within moments.
  auto all_matched = [&] {
    for (const auto& g : status.groups()) {
      if (g.leader_node_id() != leader) continue;
      for (const auto& r : g.replicas()) {
        if (r.match_index() == 0) return false;
      }
    }
    return true;
  };
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext context;
    ASSERT_TRUE(
        cluster_stub->GetClusterStatus(&context, request, &status).ok());
    if (all_matched()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(status.groups_size(), 2);
  EXPECT_EQ(status.total_group_count(), 2u);
  bool saw_progress = false;
  for (const auto& g : status.groups()) {
    EXPECT_EQ(g.queue_name(), "tracked");
    EXPECT_EQ(g.kind(), v1::GROUP_KIND_QUEUE_PARTITION);
    EXPECT_EQ(g.replicas_size(), 3);
    if (g.leader_node_id() != leader) continue;
    for (const auto& r : g.replicas()) {
      EXPECT_GT(r.match_index(), 0u) << "node " << r.node_id();
      saw_progress = true;
    }
  }
  EXPECT_TRUE(saw_progress);
  for (const auto& n : status.nodes()) {
    EXPECT_EQ(n.liveness(), v1::NODE_LIVENESS_ALIVE) << "node " << n.node_id();
  }

  // Every node has caught up, so each says SERVING to health checks.
  for (int node = 1; node <= 3; ++node) {
    bool serving = false;
    for (int i = 0; i < 60 && !serving; ++i) {
      serving = HealthServing(cluster_->node(node).address());
      if (!serving) absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_TRUE(serving) << "node " << node;
  }

  // A killed node is reported unreachable by the others.
  const int victim = static_cast<int>(leader % 3 + 1);
  cluster_->node(victim).Kill();
  {
    grpc::ClientContext context;
    ASSERT_TRUE(
        cluster_stub->GetClusterStatus(&context, request, &status).ok());
  }
  for (const auto& n : status.nodes()) {
    EXPECT_EQ(n.liveness(), n.node_id() == static_cast<uint64_t>(victim)
                                ? v1::NODE_LIVENESS_UNREACHABLE
                                : v1::NODE_LIVENESS_ALIVE)
        << "node " << n.node_id();
  }
}

// Too many receives move a message to the dead-letter queue (on another
// partition leader, possibly another node); a redrive moves it back.
TEST_F(QueuesApiTest, DeadLetterAndRedriveAcrossQueues) {
  QueuesClient client(cluster_->node(2).address());
  v1::CreateQueueRequest dlq;
  dlq.set_queue_name("dead");
  v1::CreateQueueResponse created;
  ASSERT_TRUE(client.Call(&Stub::CreateQueue, dlq, &created).ok());
  v1::CreateQueueRequest src;
  src.set_queue_name("src");
  src.mutable_attributes()->set_partition_count(2);
  auto* policy = src.mutable_attributes()->mutable_redrive_policy();
  policy->set_dead_letter_queue_name("dead");
  policy->set_max_receive_count(1);
  ASSERT_TRUE(client.Call(&Stub::CreateQueue, src, &created).ok());

  v1::SendRequest send;
  send.set_queue_name("src");
  for (int i = 0; i < 3; ++i) {
    auto* e = send.add_entries();
    e->set_entry_id(absl::StrCat("e", i));
    e->set_body(absl::StrCat("poison-", i));
  }
  v1::SendResponse sent;
  ASSERT_TRUE(client.Call(&Stub::Send, send, &sent).ok());

  // Each message is received once and released; the next receive moves it.
  auto receive_all = [&](const std::string& queue) {
    v1::ReceiveRequest receive;
    receive.set_queue_name(queue);
    receive.set_max_messages(10);
    receive.mutable_visibility_timeout()->set_seconds(0);
    v1::ReceiveResponse received;
    EXPECT_TRUE(client.Call(&Stub::Receive, receive, &received).ok());
    return received.messages_size();
  };
  int first = 0;
  for (int i = 0; i < 50 && first < 3; ++i) first += receive_all("src");
  EXPECT_EQ(first, 3);
  v1::PeekRequest peek;
  peek.set_queue_name("dead");
  v1::PeekResponse peeked;
  for (int i = 0; i < 100; ++i) {
    receive_all("src");  // triggers the moves
    ASSERT_TRUE(client.Call(&Stub::Peek, peek, &peeked).ok());
    if (peeked.messages_size() == 3) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(peeked.messages_size(), 3);
  EXPECT_EQ(peeked.messages(0).dead_letter_source().source_queue_name(), "src");

  v1::StartRedriveRequest redrive;
  redrive.set_source_queue_name("dead");
  v1::StartRedriveResponse started;
  CallResult r = client.Call(&Stub::StartRedrive, redrive, &started);
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_EQ(started.task().destination_queue_name(), "src");
  v1::ListRedriveTasksRequest list;
  v1::ListRedriveTasksResponse tasks;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(client.Call(&Stub::ListRedriveTasks, list, &tasks).ok());
    if (tasks.tasks_size() == 1 &&
        tasks.tasks(0).state() == v1::REDRIVE_TASK_STATE_COMPLETED) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(tasks.tasks_size(), 1);
  EXPECT_EQ(tasks.tasks(0).task_id(), started.task().task_id());
  EXPECT_EQ(tasks.tasks(0).moved_count(), 3u);
  v1::GetQueueStatsRequest stats_request;
  stats_request.set_queue_name("src");
  v1::GetQueueStatsResponse stats;
  // Stats are approximate: a partition whose leader cannot answer (e.g.
  // while leadership moves, on a loaded machine) counts zero.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(client.Call(&Stub::GetQueueStats, stats_request, &stats).ok());
    if (stats.counts().visible_count() == 3u) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(stats.counts().visible_count(), 3u);

  v1::CancelRedriveRequest cancel;
  cancel.set_task_id("r-nonsense");
  v1::CancelRedriveResponse cancelled;
  r = client.Call(&Stub::CancelRedrive, cancel, &cancelled);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(r.Trailer("sluice-error-reason"), "REDRIVE_TASK_NOT_FOUND");
}

}  // namespace
}  // namespace sluice::testing
