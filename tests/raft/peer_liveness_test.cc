#include "raft/core/peer_liveness.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::raft {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr NodeId kTwo{2};
constexpr NodeId kThree{3};

TEST(PeerLivenessTest, SilentPeerIsDownAfterTheGivenTicksOnce) {
  PeerLiveness live(3);
  const absl::flat_hash_set<NodeId> members{kTwo, kThree};
  live.Tick(members);  // both start as heard now
  for (int tick = 1; tick < 3; ++tick) {
    live.Heard(kThree);
    EXPECT_THAT(live.Tick(members).went_down, IsEmpty()) << tick;
  }
  live.Heard(kThree);
  EXPECT_THAT(live.Tick(members).went_down, ElementsAre(kTwo));
  EXPECT_TRUE(live.IsDown(kTwo));
  live.Heard(kThree);
  EXPECT_THAT(live.Tick(members).went_down, IsEmpty());  // reported once
  EXPECT_TRUE(live.Heard(kTwo));                         // back
  EXPECT_FALSE(live.IsDown(kTwo));
  EXPECT_FALSE(live.Heard(kTwo));
}

TEST(PeerLivenessTest, KeepaliveOnlyToPeersNothingWasSentTo) {
  PeerLiveness live(10);
  const absl::flat_hash_set<NodeId> members{kTwo, kThree};
  EXPECT_THAT(live.Tick(members).need_keepalive, ElementsAre(kTwo, kThree));
  live.Sent(kThree);
  EXPECT_THAT(live.Tick(members).need_keepalive, ElementsAre(kTwo));
  EXPECT_THAT(live.Tick(members).need_keepalive, ElementsAre(kTwo, kThree));
}

TEST(PeerLivenessTest, PeersThatLeaveAreForgotten) {
  PeerLiveness live(2);
  live.Tick({kTwo});
  live.Tick({kTwo});
  EXPECT_THAT(live.Tick({kTwo}).went_down, ElementsAre(kTwo));
  PeerLiveness::TickResult r = live.Tick({kThree});
  EXPECT_THAT(r.went_down, IsEmpty());
  EXPECT_THAT(r.need_keepalive, ElementsAre(kThree));
  EXPECT_FALSE(live.IsDown(kTwo));
}

}  // namespace
}  // namespace sluice::raft
