#include "raft/core/quorum.h"

#include <map>

#include "gtest/gtest.h"

namespace sluice::raft {
namespace {

VoterSet Set(std::initializer_list<uint64_t> ids) {
  VoterSet s;
  for (uint64_t id : ids) s.insert(NodeId(id));
  return s;
}

auto Acks(std::map<uint64_t, uint64_t> acks) {
  return [acks](NodeId id) -> std::optional<Index> {
    auto it = acks.find(id.value());
    if (it == acks.end()) return std::nullopt;
    return Index(it->second);
  };
}

auto Votes(std::map<uint64_t, bool> votes) {
  return [votes](NodeId id) -> std::optional<bool> {
    auto it = votes.find(id.value());
    if (it == votes.end()) return std::nullopt;
    return it->second;
  };
}

TEST(QuorumTest, MajorityCommitted) {
  EXPECT_EQ(MajorityCommitted(Set({1, 2, 3}), Acks({{1, 5}, {2, 3}, {3, 9}})),
            Index(5));
  EXPECT_EQ(MajorityCommitted(Set({1, 2, 3}), Acks({{1, 5}})), Index(0));
  EXPECT_EQ(MajorityCommitted(Set({1, 2, 3, 4}),
                              Acks({{1, 5}, {2, 3}, {3, 9}, {4, 1}})),
            Index(3));
  EXPECT_EQ(MajorityCommitted(Set({1}), Acks({{1, 7}})), Index(7));
}

TEST(QuorumTest, JointCommittedIsMinOfBoth) {
  auto acks = Acks({{1, 9}, {2, 8}, {3, 2}, {4, 1}, {5, 1}});
  EXPECT_EQ(JointCommitted(Set({1, 2, 3}), VoterSet(), acks), Index(8));
  EXPECT_EQ(JointCommitted(Set({1, 2, 3}), Set({3, 4, 5}), acks), Index(1));
}

TEST(QuorumTest, MajorityVote) {
  EXPECT_EQ(MajorityVote(Set({1, 2, 3}), Votes({{1, true}})),
            VoteResult::kPending);
  EXPECT_EQ(MajorityVote(Set({1, 2, 3}), Votes({{1, true}, {2, true}})),
            VoteResult::kWon);
  EXPECT_EQ(MajorityVote(Set({1, 2, 3}), Votes({{1, false}, {2, false}})),
            VoteResult::kLost);
  EXPECT_EQ(MajorityVote(Set({1, 2, 3, 4}), Votes({{1, true}, {2, true}})),
            VoteResult::kPending);
  EXPECT_EQ(MajorityVote(VoterSet(), Votes({})), VoteResult::kWon);
}

TEST(QuorumTest, JointVoteNeedsBoth) {
  auto votes = Votes({{1, true}, {2, true}, {4, false}, {5, false}});
  EXPECT_EQ(JointVote(Set({1, 2, 3}), Set({3, 4, 5}), votes),
            VoteResult::kLost);
  auto votes2 = Votes({{1, true}, {2, true}, {4, true}});
  EXPECT_EQ(JointVote(Set({1, 2, 3}), Set({3, 4, 5}), votes2),
            VoteResult::kPending);
  auto votes3 = Votes({{1, true}, {2, true}, {3, true}});
  EXPECT_EQ(JointVote(Set({1, 2, 3}), Set({3, 4, 5}), votes3),
            VoteResult::kPending);
  auto votes4 = Votes({{1, true}, {3, true}, {4, true}});
  EXPECT_EQ(JointVote(Set({1, 2, 3}), Set({3, 4, 5}), votes4),
            VoteResult::kWon);
}

}  // namespace
}  // namespace sluice::raft
