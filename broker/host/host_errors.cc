#include "broker/host/host_errors.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sluice::broker {
namespace {

absl::Status WithLeader(absl::Status status, raft::NodeId leader) {
  if (leader != raft::kNoNode) {
    status.SetPayload(kLeaderPayload, absl::Cord(absl::StrCat(leader.value())));
  }
  return status;
}

std::string LeaderText(raft::NodeId leader) {
  return leader == raft::kNoNode ? "unknown"
                                 : absl::StrCat("node ", leader.value());
}

}  // namespace

absl::Status NotProposed(absl::Status status) {
  status.SetPayload(kNotProposedPayload, absl::Cord("1"));
  return status;
}

bool IsNotProposed(const absl::Status& status) {
  return status.GetPayload(kNotProposedPayload).has_value();
}

absl::Status NotLeaderError(raft::GroupId group, raft::NodeId leader) {
  return NotProposed(WithLeader(
      absl::UnavailableError(absl::StrCat("not leader of group ", group.value(),
                                          "; leader is ", LeaderText(leader))),
      leader));
}

absl::Status LeadershipLostError(raft::GroupId group, raft::NodeId leader) {
  return WithLeader(
      absl::UnavailableError(absl::StrCat(
          "leadership of group ", group.value(),
          " changed before the proposal was applied (it may still be "
          "applied); leader is ",
          LeaderText(leader))),
      leader);
}

absl::Status WithRetryAfter(absl::Status status, absl::Duration retry_after) {
  status.SetPayload(kRetryAfterPayload,
                    absl::Cord(absl::StrCat(absl::ToInt64Milliseconds(
                        absl::Ceil(retry_after, absl::Milliseconds(1))))));
  return status;
}

absl::Status TooManyProposalsError(raft::GroupId group, size_t pending,
                                   absl::Duration retry_after) {
  return WithRetryAfter(absl::ResourceExhaustedError(absl::StrCat(
                            "group ", group.value(), " has ", pending,
                            " proposals pending; retry after ",
                            absl::FormatDuration(retry_after))),
                        retry_after);
}

std::optional<raft::NodeId> LeaderHint(const absl::Status& status) {
  auto payload = status.GetPayload(kLeaderPayload);
  if (!payload.has_value()) return std::nullopt;
  uint64_t id = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &id) || id == 0) {
    return std::nullopt;
  }
  return raft::NodeId(id);
}

}  // namespace sluice::broker
