// The in-memory index on its own: placement by this replica's clock, and
// FIFO picking that never scans blocked groups.
#include "broker/queue/message_index.h"

#include "gtest/gtest.h"

namespace sluice::broker {
namespace {

using Visit = MessageIndex::PickVisit;

Meta Leased(uint32_t group, absl::Time deadline) {
  Meta m;
  m.state = static_cast<uint32_t>(MsgState::kLeased);
  m.receive_count = 1;
  m.group = group;
  m.deadline = absl::ToUnixMicros(deadline);
  return m;
}

TEST(MessageIndex, FifoPickVisitsOnlyReadyGroups) {
  MessageIndex index(/*fifo=*/true);
  const absl::Time t0 = absl::FromUnixSeconds(100);
  const uint32_t a = index.InternGroup("A");
  index.Insert(1, Leased(a, t0 + absl::Seconds(30)), t0);
  for (uint64_t seq = 2; seq <= 100'000; ++seq) {
    Meta m;
    m.group = a;
    index.Insert(seq, m, t0);
  }
  const uint32_t b = index.InternGroup("B");
  Meta mb;
  mb.group = b;
  index.Insert(100'001, mb, t0);
  int visited = 0;
  index.Pick(t0 + absl::Hours(1), [&](uint64_t seq, const Meta&) {
    ++visited;
    EXPECT_EQ(seq, 100'001u);
    return Visit::kTake;
  });
  EXPECT_EQ(visited, 1) << "group A is blocked: none of its 99,999 visited";
  EXPECT_EQ(index.ready_group_count(), 0u);
  // A's lease runs out: A's head is ready again.
  index.AdvanceTo(t0 + absl::Seconds(30));
  EXPECT_EQ(index.ready_group_count(), 1u);
  std::vector<uint64_t> got;
  index.Pick(t0 + absl::Seconds(40), [&](uint64_t seq, const Meta&) {
    got.push_back(seq);
    return got.size() < 3 ? Visit::kTake : Visit::kStop;
  });
  EXPECT_EQ(got, (std::vector<uint64_t>{1, 2, 3}));
}

TEST(MessageIndex, CountsFollowTheClock) {
  MessageIndex index(/*fifo=*/false);
  const absl::Time t0 = absl::FromUnixSeconds(100);
  index.Insert(1, Leased(0, t0 + absl::Seconds(5)), t0);
  Meta delayed;
  delayed.state = static_cast<uint32_t>(MsgState::kDelayed);
  delayed.deadline = absl::ToUnixMicros(t0 + absl::Seconds(7));
  index.Insert(2, delayed, t0);
  index.Insert(3, Meta(), t0);
  EXPECT_EQ(index.counts().in_flight, 1u);
  EXPECT_EQ(index.counts().delayed, 1u);
  EXPECT_EQ(index.counts().visible, 1u);
  index.AdvanceTo(t0 + absl::Seconds(7));
  EXPECT_EQ(index.counts().visible, 3u);
  EXPECT_EQ(index.Browse(0, 10), (std::vector<uint64_t>{1, 2, 3}));
  index.Erase(2);
  EXPECT_EQ(index.counts().visible, 2u);
}

TEST(MessageIndex, SentBeforeUsesWholeSeconds) {
  MessageIndex index(/*fifo=*/false);
  const absl::Time t0 = absl::FromUnixSeconds(100);
  index.Insert(1, Meta(), t0);
  index.Insert(2, Meta(), t0 + absl::Milliseconds(500));
  index.Insert(3, Meta(), t0 + absl::Seconds(2));
  EXPECT_EQ(index.SentBefore(t0 + absl::Seconds(1)),
            (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(index.SentBefore(t0), std::vector<uint64_t>{});
  EXPECT_EQ(*index.OldestSent(), t0);
  index.Erase(1);
  index.Erase(2);
  EXPECT_EQ(*index.OldestSent(), t0 + absl::Seconds(2));
}

}  // namespace
}  // namespace sluice::broker
