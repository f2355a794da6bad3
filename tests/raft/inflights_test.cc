#include "raft/core/inflights.h"

#include "gtest/gtest.h"

namespace sluice::raft {
namespace {

TEST(InflightsTest, FullByCount) {
  Inflights in(3, 0);
  in.Add(Index(1), 10);
  in.Add(Index(2), 10);
  EXPECT_FALSE(in.Full());
  in.Add(Index(5), 10);
  EXPECT_TRUE(in.Full());
  in.FreeLE(Index(2));
  EXPECT_EQ(in.count(), 1u);
  EXPECT_EQ(in.bytes(), 10u);
  EXPECT_FALSE(in.Full());
}

TEST(InflightsTest, FullByBytes) {
  Inflights in(100, 25);
  in.Add(Index(1), 10);
  EXPECT_FALSE(in.Full());
  in.Add(Index(2), 10);
  EXPECT_FALSE(in.Full());
  in.Add(Index(3), 10);  // 30 >= 25
  EXPECT_TRUE(in.Full());
  in.FreeLE(Index(1));
  EXPECT_FALSE(in.Full());
}

TEST(InflightsTest, FreeLEIgnoresOlderAndResetClears) {
  Inflights in(10, 0);
  in.Add(Index(4), 1);
  in.Add(Index(8), 1);
  in.FreeLE(Index(3));
  EXPECT_EQ(in.count(), 2u);
  in.FreeLE(Index(7));
  EXPECT_EQ(in.count(), 1u);
  in.Reset();
  EXPECT_EQ(in.count(), 0u);
  EXPECT_EQ(in.bytes(), 0u);
}

}  // namespace
}  // namespace sluice::raft
