// PartitionOps: reads of this replica — Peek, GetQueueStats, and the
// long-poll queries.
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/message_view.h"
#include "broker/partition/partition_ops.h"
#include "broker/partition/proto_time.h"

namespace sluice::broker {
namespace {

constexpr uint32_t kDefaultPeekLimit = 100;
constexpr uint32_t kMaxPeekLimit = 1000;
constexpr uint32_t kMaxGroupPage = 1000;

// What a reader sees of a message on this replica (the index's placement
// included); UNSPECIFIED for messages leaving for another queue.
v1::MessageState StateOf(const Meta& meta) {
  switch (meta.logical()) {
    case MsgState::kVisible:
      return v1::MESSAGE_STATE_VISIBLE;
    case MsgState::kDelayed:
      return meta.due ? v1::MESSAGE_STATE_VISIBLE : v1::MESSAGE_STATE_DELAYED;
    case MsgState::kLeased:
      return meta.due ? v1::MESSAGE_STATE_VISIBLE : v1::MESSAGE_STATE_IN_FLIGHT;
    case MsgState::kOutbox:
      break;
  }
  return v1::MESSAGE_STATE_UNSPECIFIED;
}

// Peek page tokens: "<partition>:<next sequence>".
std::string PeekToken(uint32_t partition, uint64_t next) {
  return absl::StrCat(partition, ":", next);
}

absl::StatusOr<uint64_t> ParsePeekToken(const std::string& token,
                                        uint32_t partition) {
  std::vector<std::string> parts = absl::StrSplit(token, ':');
  uint32_t p = 0;
  uint64_t next = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &p) ||
      !absl::SimpleAtoi(parts[1], &next) || p != partition) {
    return InvalidField("page_token", "not a token of this partition");
  }
  return next;
}

struct GroupRow {
  std::string id;
  uint64_t head = 0;  // first sequence: oldest message of the group
  uint64_t visible = 0;
  uint64_t in_flight = 0;
  uint64_t delayed = 0;
};

}  // namespace

absl::StatusOr<v1::PeekResponse> PartitionOps::Peek(
    const v1::PeekRequest& request) {
  if (request.limit() > kMaxPeekLimit) {
    return InvalidField(
        "limit",
        absl::StrFormat("%d is above %d", request.limit(), kMaxPeekLimit));
  }
  const uint32_t limit =
      request.limit() == 0 ? kDefaultPeekLimit : request.limit();
  uint64_t from = request.from_sequence_number();
  if (!request.page_token().empty()) {
    absl::StatusOr<uint64_t> next =
        ParsePeekToken(request.page_token(), options_.partition);
    if (!next.ok()) return next.status();
    from = *next;
  }
  Refresh();
  MessageViewOptions view{options_.queue_id, options_.partition,
                          &request.message_attribute_names(),
                          request.omit_body()};
  v1::PeekResponse response;
  uint64_t next = from;
  bool more = false;
  const auto& messages = queue_.index().messages();
  for (auto it = messages.lower_bound(from); it != messages.end(); ++it) {
    const v1::MessageState state = StateOf(it->second);
    if (state == v1::MESSAGE_STATE_UNSPECIFIED) continue;
    if (!request.states().empty() &&
        std::find(request.states().begin(), request.states().end(), state) ==
            request.states().end()) {
      continue;
    }
    if (static_cast<uint32_t>(response.messages_size()) == limit) {
      more = true;
      break;
    }
    absl::StatusOr<StoredMessage> stored =
        queue_.ReadMessage(MessageSeq(it->first));
    if (!stored.ok()) continue;  // applied, not yet written: next time
    v1::Message* m = response.add_messages();
    *m = ToPublicMessage(*stored, view);
    m->set_state(state);
    const absl::Time visible_after =
        absl::FromUnixMicros(stored->state.visible_after_micros());
    if (state == v1::MESSAGE_STATE_IN_FLIGHT) {
      *m->mutable_lease_deadline() = ToProtoTimestamp(visible_after);
    } else if (state == v1::MESSAGE_STATE_DELAYED) {
      *m->mutable_deliver_time() = ToProtoTimestamp(visible_after);
    }
    next = it->first + 1;
  }
  response.set_next_sequence_number(next);
  if (more) response.set_next_page_token(PeekToken(options_.partition, next));
  return response;
}

absl::StatusOr<v1::GetQueueStatsResponse> PartitionOps::GetQueueStats(
    const v1::GetQueueStatsRequest& request) {
  const bool fifo = queue_.attributes().fifo();
  if (request.group_page_size() > kMaxGroupPage) {
    return InvalidField(
        "group_page_size",
        absl::StrFormat("%d is above %d", request.group_page_size(),
                        kMaxGroupPage));
  }
  if (request.group_page_size() > 0 && !fifo) {
    return InvalidField("group_page_size", "only FIFO queues have groups",
                        v1::ERROR_REASON_ATTRIBUTE_NOT_APPLICABLE);
  }
  const absl::Time now = WallNow();
  const QueueStats stats = queue_.Stats(now);
  v1::GetQueueStatsResponse response;
  v1::MessageCounts* counts = response.mutable_counts();
  counts->set_visible_count(stats.visible);
  counts->set_in_flight_count(stats.in_flight);
  counts->set_delayed_count(stats.delayed);
  counts->set_backlog_bytes(stats.stored_bytes);
  const internal::StoredCounters& totals = queue_.counters();
  counts->set_sent_count(totals.sent_total());
  counts->set_received_count(totals.received_total());
  counts->set_deleted_count(totals.deleted_total());
  counts->set_dead_lettered_count(totals.dead_lettered_total());
  counts->set_expired_count(totals.expired_total());
  counts->set_purged_count(totals.purged_total());
  if (stats.oldest_age.has_value()) {
    *counts->mutable_oldest_message_age() = ToProtoDuration(*stats.oldest_age);
  }
  *response.mutable_read_time() = ToProtoTimestamp(now);

  // FIFO groups: one pass over the index (no reads), O(messages).
  std::vector<GroupRow> groups;
  if (fifo) {
    absl::flat_hash_map<uint32_t, size_t> row_of;
    for (const auto& [seq, meta] : queue_.index().messages()) {
      const v1::MessageState state = StateOf(meta);
      if (state == v1::MESSAGE_STATE_UNSPECIFIED) continue;
      auto [it, added] = row_of.try_emplace(meta.group, groups.size());
      if (added) {
        groups.push_back({queue_.index().GroupName(meta.group), seq});
      }
      GroupRow& row = groups[it->second];
      if (meta.Blocking()) {
        row.in_flight = 1;
      } else if (state == v1::MESSAGE_STATE_DELAYED) {
        ++row.delayed;
      } else {
        ++row.visible;
      }
    }
    uint64_t in_flight_groups = 0;
    for (const GroupRow& g : groups) in_flight_groups += g.in_flight;
    response.set_group_count(groups.size());
    response.set_groups_in_flight_count(in_flight_groups);
  }
  if (request.include_partitions()) {
    v1::PartitionStats* p = response.add_partitions();
    p->set_partition(options_.partition);
    *p->mutable_counts() = *counts;
    const auto& messages = queue_.index().messages();
    if (!messages.empty()) {
      p->set_last_sequence_number(messages.rbegin()->first);
    }
    p->set_available(true);
    p->set_group_count(response.group_count());
    p->set_groups_in_flight_count(response.groups_in_flight_count());
  }
  if (request.group_page_size() == 0) return response;

  // A page of groups. GROUP_ID pages are exact (token: the last id);
  // the others are approximate (token: an offset), as the API allows.
  const v1::GroupOrder order =
      request.group_order() == v1::GROUP_ORDER_UNSPECIFIED
          ? v1::GROUP_ORDER_BACKLOG
          : request.group_order();
  auto key = [](const GroupRow& g) {
    return g.visible + g.in_flight + g.delayed;
  };
  std::sort(groups.begin(), groups.end(),
            [&](const GroupRow& a, const GroupRow& b) {
              if (order == v1::GROUP_ORDER_GROUP_ID) return a.id < b.id;
              if (order == v1::GROUP_ORDER_OLDEST) return a.head < b.head;
              if (key(a) != key(b)) return key(a) > key(b);
              return a.id < b.id;
            });
  size_t start = 0;
  const std::string& token = request.group_page_token();
  if (!token.empty()) {
    if (order == v1::GROUP_ORDER_GROUP_ID) {
      start = std::upper_bound(groups.begin(), groups.end(), token,
                               [](const std::string& t, const GroupRow& g) {
                                 return t < g.id;
                               }) -
              groups.begin();
    } else if (!absl::SimpleAtoi(token, &start)) {
      return InvalidField("group_page_token", "not a token of this call");
    }
  }
  const size_t end = std::min(groups.size(), start + request.group_page_size());
  for (size_t i = start; i < end; ++i) {
    const GroupRow& g = groups[i];
    v1::GroupStats* out = response.add_groups();
    out->set_group_id(g.id);
    out->set_partition(options_.partition);
    out->set_visible_count(g.visible);
    out->set_in_flight_count(g.in_flight);
    out->set_delayed_count(g.delayed);
    absl::StatusOr<StoredMessage> head = queue_.ReadMessage(MessageSeq(g.head));
    if (head.ok()) {
      const absl::Time sent = absl::FromUnixMicros(head->meta.sent_micros());
      *out->mutable_oldest_message_age() =
          ToProtoDuration(std::max(now - sent, absl::ZeroDuration()));
    }
  }
  if (end < groups.size()) {
    response.set_next_group_page_token(order == v1::GROUP_ORDER_GROUP_ID
                                           ? groups[end - 1].id
                                           : absl::StrCat(end));
  }
  return response;
}

bool PartitionOps::HasVisible() {
  Refresh();
  if (queue_.attributes().fifo()) {
    return queue_.index().ready_group_count() > 0;
  }
  return !queue_.Peek(MessageSeq(0), 1).empty();
}

std::optional<absl::Time> PartitionOps::NextVisibleAt() {
  Refresh();
  return queue_.index().NextDeadline();
}

}  // namespace sluice::broker
