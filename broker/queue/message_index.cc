#include "broker/queue/message_index.h"

#include <algorithm>

#include "base/logging.h"
#include "broker/queue/types.h"

namespace sluice::broker {
namespace {

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

}  // namespace

uint32_t MessageIndex::InternGroup(std::string_view name) {
  auto it = group_ids_.find(AbslView(name));
  if (it != group_ids_.end()) return it->second;
  uint32_t id;
  if (!free_groups_.empty()) {
    id = free_groups_.back();
    free_groups_.pop_back();
    groups_[id] = Group();
  } else {
    id = static_cast<uint32_t>(groups_.size());
    groups_.emplace_back();
  }
  groups_[id].name = std::string(name);
  group_ids_.emplace(groups_[id].name, id);
  return id;
}

const std::string& MessageIndex::GroupName(uint32_t group) const {
  return groups_[group].name;
}

void MessageIndex::MaybeFreeGroup(uint32_t group) {
  Group& g = groups_[group];
  if (g.messages != 0) return;
  SLUICE_CHECK(!g.ready && g.blocking == 0) << "group " << g.name;
  group_ids_.erase(g.name);
  g = Group();
  free_groups_.push_back(group);
}

void MessageIndex::Count(const Meta& meta, int delta) {
  uint64_t* counter;
  if (meta.logical() == MsgState::kOutbox) {
    counter = &counts_.outbox;
  } else if (meta.reserved || meta.Pickable()) {
    counter = &counts_.visible;
  } else if (meta.logical() == MsgState::kDelayed) {
    counter = &counts_.delayed;
  } else {
    counter = &counts_.in_flight;
  }
  *counter += delta;
}

void MessageIndex::Place(uint64_t seq, const Meta& meta) {
  Count(meta, 1);
  if (meta.logical() == MsgState::kOutbox) return;
  if (meta.Timed()) timers_.emplace(meta.deadline, seq);
  if (fifo_) {
    if (meta.Blocking()) ++groups_[meta.group].blocking;
  } else if (meta.Pickable()) {
    visible_.insert(seq);
  }
}

void MessageIndex::Unplace(uint64_t seq, const Meta& meta) {
  Count(meta, -1);
  if (meta.logical() == MsgState::kOutbox) return;
  if (meta.Timed()) timers_.erase({meta.deadline, seq});
  if (fifo_) {
    if (meta.Blocking()) --groups_[meta.group].blocking;
  } else if (meta.Pickable()) {
    visible_.erase(seq);
  }
}

void MessageIndex::Insert(uint64_t seq, Meta meta, absl::Time sent) {
  SLUICE_CHECK(messages_.empty() || messages_.rbegin()->first < seq)
      << "sequence " << seq << " not increasing";
  const int64_t second = absl::ToUnixSeconds(sent);
  if (sent_seconds_.empty() || sent_seconds_.back().first < second) {
    sent_seconds_.emplace_back(second, seq);
  }
  messages_.emplace(seq, meta);
  stored_bytes_ += meta.bytes;
  if (fifo_ && meta.logical() != MsgState::kOutbox) {
    ++groups_[meta.group].messages;
    group_msgs_.emplace(meta.group, seq);
  }
  Place(seq, meta);
  if (fifo_ && meta.logical() != MsgState::kOutbox) RefreshGroup(meta.group);
}

void MessageIndex::Update(uint64_t seq, Meta meta) {
  auto it = messages_.find(seq);
  SLUICE_CHECK(it != messages_.end()) << "no message " << seq;
  const Meta old = it->second;
  SLUICE_CHECK(old.group == meta.group) << "message " << seq;
  meta.bytes = old.bytes;
  Unplace(seq, old);
  it->second = meta;
  if (fifo_ && old.logical() != MsgState::kOutbox &&
      meta.logical() == MsgState::kOutbox) {
    group_msgs_.erase({old.group, seq});
    --groups_[old.group].messages;
  }
  Place(seq, meta);
  if (fifo_ && old.logical() != MsgState::kOutbox) {
    RefreshGroup(old.group);
    MaybeFreeGroup(old.group);
  }
}

void MessageIndex::Erase(uint64_t seq) {
  auto it = messages_.find(seq);
  if (it == messages_.end()) return;
  const Meta old = it->second;
  Unplace(seq, old);
  messages_.erase(it);
  stored_bytes_ -= old.bytes;
  if (fifo_ && old.logical() != MsgState::kOutbox) {
    group_msgs_.erase({old.group, seq});
    --groups_[old.group].messages;
    RefreshGroup(old.group);
    MaybeFreeGroup(old.group);
  }
  // Forget send seconds that no message needs: keep the last bucket at or
  // before the oldest message.
  const uint64_t oldest =
      messages_.empty() ? UINT64_MAX : messages_.begin()->first;
  while (sent_seconds_.size() > 1 && sent_seconds_[1].second <= oldest) {
    sent_seconds_.pop_front();
  }
}

const Meta* MessageIndex::Find(uint64_t seq) const {
  auto it = messages_.find(seq);
  return it == messages_.end() ? nullptr : &it->second;
}

void MessageIndex::AdvanceTo(absl::Time now) {
  const int64_t now_us = Micros(now);
  while (!timers_.empty() && timers_.begin()->first <= now_us) {
    const uint64_t seq = timers_.begin()->second;
    Meta meta = messages_.at(seq);
    if (meta.reserved) {
      meta.reserved = 0;
    } else {
      meta.due = 1;
    }
    Update(seq, meta);
  }
}

void MessageIndex::Unreserve(uint64_t seq) {
  const Meta* meta = Find(seq);
  if (meta == nullptr || !meta->reserved) return;
  Meta copy = *meta;
  copy.reserved = 0;
  Update(seq, copy);
}

void MessageIndex::Pick(
    absl::Time reserve_until,
    const std::function<PickVisit(uint64_t seq, const Meta&)>& visit) {
  auto reserve = [&](uint64_t seq) {
    Meta meta = messages_.at(seq);
    meta.reserved = 1;
    meta.deadline = Micros(reserve_until);
    Update(seq, meta);
  };
  if (!fifo_) {
    uint64_t after = 0;
    while (true) {
      auto it = visible_.upper_bound(after);
      if (it == visible_.end()) return;
      const uint64_t seq = *it;
      after = seq;
      switch (visit(seq, messages_.at(seq))) {
        case PickVisit::kTake:
        case PickVisit::kTakeLast:
          reserve(seq);
          break;
        case PickVisit::kSkip:
          break;
        case PickVisit::kStop:
          return;
      }
    }
  }
  // FIFO: each ready group once, in list order. A group served leaves the
  // list (it is blocked now) and rejoins at the tail when it is free again.
  uint32_t group = ready_head_;
  while (group != kNil) {
    const uint32_t next_group = groups_[group].next;
    std::optional<uint64_t> seq = GroupHead(group);
    while (seq.has_value()) {
      const Meta& meta = messages_.at(*seq);
      if (!meta.Pickable()) break;
      const PickVisit decision = visit(*seq, meta);
      if (decision == PickVisit::kStop) return;
      if (decision == PickVisit::kSkip) break;
      reserve(*seq);
      if (decision == PickVisit::kTakeLast) break;
      auto it = group_msgs_.upper_bound({group, *seq});
      if (it == group_msgs_.end() || it->first != group) break;
      seq = it->second;
    }
    group = next_group;
  }
}

std::vector<uint64_t> MessageIndex::Browse(uint64_t after, size_t max) const {
  std::vector<uint64_t> out;
  if (!fifo_) {
    for (auto it = visible_.upper_bound(after);
         it != visible_.end() && out.size() < max; ++it) {
      out.push_back(*it);
    }
    return out;
  }
  for (auto it = messages_.upper_bound(after);
       it != messages_.end() && out.size() < max; ++it) {
    if (it->second.Pickable()) out.push_back(it->first);
  }
  return out;
}

std::optional<uint64_t> MessageIndex::GroupHead(uint32_t group) const {
  auto it = group_msgs_.lower_bound({group, 0});
  if (it == group_msgs_.end() || it->first != group) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> MessageIndex::GroupPrevious(uint32_t group,
                                                    uint64_t seq) const {
  auto it = group_msgs_.lower_bound({group, seq});
  if (it == group_msgs_.begin()) return std::nullopt;
  --it;
  if (it->first != group) return std::nullopt;
  return it->second;
}

void MessageIndex::RefreshGroup(uint32_t group) {
  Group& g = groups_[group];
  bool ready = false;
  if (g.blocking == 0) {
    std::optional<uint64_t> head = GroupHead(group);
    ready = head.has_value() && messages_.at(*head).Pickable();
  }
  if (ready && !g.ready) LinkReady(group);
  if (!ready && g.ready) UnlinkReady(group);
}

void MessageIndex::LinkReady(uint32_t group) {
  Group& g = groups_[group];
  g.ready = true;
  g.prev = ready_tail_;
  g.next = kNil;
  if (ready_tail_ != kNil) {
    groups_[ready_tail_].next = group;
  } else {
    ready_head_ = group;
  }
  ready_tail_ = group;
  ++ready_count_;
}

void MessageIndex::UnlinkReady(uint32_t group) {
  Group& g = groups_[group];
  if (g.prev != kNil) {
    groups_[g.prev].next = g.next;
  } else {
    ready_head_ = g.next;
  }
  if (g.next != kNil) {
    groups_[g.next].prev = g.prev;
  } else {
    ready_tail_ = g.prev;
  }
  g.prev = g.next = kNil;
  g.ready = false;
  --ready_count_;
}

std::vector<uint64_t> MessageIndex::SentBefore(absl::Time cutoff,
                                               size_t max) const {
  const int64_t cutoff_second = absl::ToUnixSeconds(cutoff);
  // Messages before the first bucket at or after the cutoff second.
  auto bucket = std::lower_bound(sent_seconds_.begin(), sent_seconds_.end(),
                                 cutoff_second,
                                 [](const std::pair<int64_t, uint64_t>& b,
                                    int64_t s) { return b.first < s; });
  const uint64_t limit =
      bucket == sent_seconds_.end() ? UINT64_MAX : bucket->second;
  std::vector<uint64_t> out;
  for (auto it = messages_.begin();
       it != messages_.end() && it->first < limit && out.size() < max; ++it) {
    out.push_back(it->first);
  }
  return out;
}

std::optional<absl::Time> MessageIndex::OldestSent() const {
  if (messages_.empty()) return std::nullopt;
  const uint64_t oldest = messages_.begin()->first;
  std::optional<absl::Time> sent;
  for (const auto& [second, first_seq] : sent_seconds_) {
    if (first_seq > oldest) break;
    sent = absl::FromUnixSeconds(second);
  }
  return sent;
}

std::optional<MessageIndex::GroupCounts> MessageIndex::CountsOfGroup(
    std::string_view name) const {
  auto it = group_ids_.find(AbslView(name));
  if (it == group_ids_.end()) return std::nullopt;
  const Group& g = groups_[it->second];
  return GroupCounts{g.messages, g.blocking};
}

}  // namespace sluice::broker
