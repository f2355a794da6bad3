// Routing: the client maps routing keys to partitions exactly as the
// server does (XXH64 mod partition_count) and keeps leader hints.
#include "client/cpp/src/routing.h"

#include "base/xxh64.h"
#include "gtest/gtest.h"

namespace sluice::client::internal {
namespace {

TEST(RoutingTest, FifoRoutesByGroupStandardByDedupId) {
  const uint32_t p = 7;
  EXPECT_EQ(RoutedPartition(true, "user-42", "", p), Xxh64("user-42") % p);
  EXPECT_EQ(RoutedPartition(true, "user-42", "other", p), Xxh64("user-42") % p)
      << "FIFO ignores the dedup id";
  EXPECT_EQ(RoutedPartition(false, "label", "order-9", p),
            Xxh64("order-9") % p);
  EXPECT_EQ(RoutedPartition(false, "label", "", p), std::nullopt)
      << "a standard message without a dedup id may go anywhere";
  EXPECT_EQ(RoutedPartition(true, "", "", p), std::nullopt);
}

TEST(RoutingTest, KnownXxh64Value) {
  // XXH64 of the empty string with seed 0 (the reference implementation's
  // published value): the client and server agree on the function itself.
  EXPECT_EQ(Xxh64(""), 0xEF46DB3751D8E999ULL);
}

TEST(RoutingTest, RouteFromGetQueue) {
  v1::GetQueueResponse response;
  response.mutable_queue()->set_queue_name("jobs.fifo");
  response.mutable_queue()->set_queue_id(12);
  response.mutable_queue()->set_type(v1::QUEUE_TYPE_FIFO);
  response.mutable_queue()->mutable_attributes()->set_partition_count(3);
  response.mutable_queue()->mutable_attributes()->set_max_message_size_bytes(
      1024);
  v1::PartitionRoute* r = response.add_partition_routes();
  r->set_partition(1);
  r->set_leader_address("b:1");
  const QueueRoute route = RouteFrom(response);
  EXPECT_TRUE(route.fifo);
  EXPECT_EQ(route.partitions, 3u);
  EXPECT_EQ(route.max_message_size, 1024u);
  EXPECT_EQ(route.leaders, (std::vector<std::string>{"", "b:1", ""}));
}

TEST(RoutingTest, TableKeepsHintsAndKnownAddresses) {
  RouteTable table;
  QueueRoute route;
  route.name = "q";
  route.partitions = 2;
  route.leaders = {"a:1", ""};
  table.Put(route);
  table.SetLeader("q", 1, "b:1");
  table.SetLeader("q", 5, "x:1");        // out of range: ignored
  table.SetLeader("unknown", 0, "y:1");  // unknown queue: ignored
  EXPECT_EQ(table.Find("q")->leaders, (std::vector<std::string>{"a:1", "b:1"}));
  EXPECT_EQ(table.KnownAddresses(), (std::vector<std::string>{"a:1", "b:1"}));
  table.Forget("q");
  EXPECT_EQ(table.Find("q"), std::nullopt);
}

}  // namespace
}  // namespace sluice::client::internal
