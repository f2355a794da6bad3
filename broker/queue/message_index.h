// MessageIndex: the in-memory part of one partition's queue state — only what
// picking needs, a few dozen bytes per queued message (bodies and everything
// else live in LevelDB, see README.md).
//
// Each message has a logical state, changed only by applied commands and the
// same on every replica (visible, delayed, leased, outbox), and a placement
// that is this replica's own: whether its delay or lease has run out on this
// replica's monotonic clock ("due"), and whether this replica, as leader, has
// picked it for a grant that is not applied yet ("reserved"). A message is
// pickable when it is visible, or delayed/leased and due, and not reserved.
//
//   messages_  seq -> Meta                     every message (btree, in order)
//   visible_   seq                             pickable, standard queues
//   timers_    (deadline, seq)                 not due yet, or reserved
//   group_msgs_ (group, seq)                   FIFO: messages of each group
//   ready list (intrusive, in Group)           FIFO: groups whose head is
//                                              pickable and with nothing in
//                                              flight: next free group in O(1)
//
// Owned by QueueStateMachine; single-threaded (the partition's event loop).
#ifndef SLUICE_BROKER_QUEUE_MESSAGE_INDEX_H_
#define SLUICE_BROKER_QUEUE_MESSAGE_INDEX_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace sluice::broker {

enum class MsgState : uint8_t {
  kVisible = 0,
  kDelayed = 1,  // never received; visible once its delay runs out
  kLeased = 2,   // received; visible again once its lease runs out
  kOutbox = 3,   // leaving for another queue (dead-letter move, redrive)
};

// 24 bytes per message.
struct Meta {
  uint32_t receive_count : 24 = 0;
  uint32_t state : 2 = 0;     // MsgState
  uint32_t due : 1 = 0;       // delay/lease ran out on this replica
  uint32_t reserved : 1 = 0;  // picked by this replica, grant not applied yet
  uint32_t group = 0;         // FIFO group index; 0 for standard queues
  int64_t deadline = 0;       // monotonic micros, while in timers_
  uint32_t bytes = 0;         // body size (fixed at Insert)

  MsgState logical() const { return static_cast<MsgState>(state); }
  bool Pickable() const {
    if (reserved) return false;
    return logical() == MsgState::kVisible ||
           ((logical() == MsgState::kDelayed ||
             logical() == MsgState::kLeased) &&
            due);
  }
  bool Timed() const {
    return reserved || ((logical() == MsgState::kDelayed ||
                         logical() == MsgState::kLeased) &&
                        !due);
  }
  // Blocks its FIFO group (in flight, or about to be).
  bool Blocking() const {
    return reserved || (logical() == MsgState::kLeased && !due);
  }
};
static_assert(sizeof(Meta) == 24);

// Counts by what a receiver would see on this replica (exact on the leader).
struct IndexCounts {
  uint64_t visible = 0;    // pickable or reserved
  uint64_t delayed = 0;    // delay not run out
  uint64_t in_flight = 0;  // lease not run out
  uint64_t outbox = 0;
};

class MessageIndex {
 public:
  static constexpr uint32_t kNoGroup = 0;

  explicit MessageIndex(bool fifo) : fifo_(fifo) {}
  MessageIndex(const MessageIndex&) = delete;
  MessageIndex& operator=(const MessageIndex&) = delete;

  bool fifo() const { return fifo_; }
  size_t size() const { return messages_.size(); }
  // Sum of Meta::bytes of every message held (max_backlog_bytes).
  uint64_t stored_bytes() const { return stored_bytes_; }

  // The group index for a FIFO group name, created on first use.
  uint32_t InternGroup(std::string_view name);
  const std::string& GroupName(uint32_t group) const;

  // Adds a new message (sequence larger than every earlier one), sent at
  // log time `sent`.
  void Insert(uint64_t seq, Meta meta, absl::Time sent);
  // Replaces a message's meta (its group must stay the same).
  void Update(uint64_t seq, Meta meta);
  void Erase(uint64_t seq);
  const Meta* Find(uint64_t seq) const;

  // Moves timers that ran out by `now` (this replica's monotonic clock):
  // delays and leases become due, reservations lapse.
  void AdvanceTo(absl::Time now);

  // Visits pickable messages in the order a receiver gets them and reserves
  // those `visit` takes, until `reserve_until`. Standard queues: in sequence
  // order. FIFO: ready groups in round-robin order, and within a group its
  // consecutive messages from the head.
  enum class PickVisit {
    kTake,      // reserve it; FIFO: go on with the group's next message
    kTakeLast,  // reserve it; FIFO: go on with the next group
    kSkip,      // leave it; FIFO: go on with the next group
    kStop,      // leave it and stop
  };
  void Pick(absl::Time reserve_until,
            const std::function<PickVisit(uint64_t seq, const Meta&)>& visit);
  // Releases a reservation now (a proposal that will not be applied).
  void Unreserve(uint64_t seq);

  // Pickable messages in sequence order after `after`, without reserving
  // (peek, redrive).
  std::vector<uint64_t> Browse(uint64_t after, size_t max) const;

  // The sequence of the first message in `group` (FIFO), if any.
  std::optional<uint64_t> GroupHead(uint32_t group) const;
  // The message before `seq` in its FIFO group, if any.
  std::optional<uint64_t> GroupPrevious(uint32_t group, uint64_t seq) const;

  // Up to `max` messages sent before `cutoff` (log time), oldest first, at
  // one-second granularity: those whose send second is before cutoff's.
  std::vector<uint64_t> SentBefore(absl::Time cutoff,
                                   size_t max = SIZE_MAX) const;
  // Send time (rounded down to the second) of the oldest message, if any.
  std::optional<absl::Time> OldestSent() const;

  // The earliest running timer (a delay, lease or reservation running out)
  // on this replica's monotonic clock, if any: when a receive may next find
  // something new to pick.
  std::optional<absl::Time> NextDeadline() const {
    if (timers_.empty()) return std::nullopt;
    return absl::FromUnixMicros(timers_.begin()->first);
  }

  const IndexCounts& counts() const { return counts_; }
  struct GroupCounts {
    uint64_t messages = 0;   // not in the outbox
    uint64_t in_flight = 0;  // blocking the group
  };
  std::optional<GroupCounts> CountsOfGroup(std::string_view name) const;
  size_t group_count() const { return group_ids_.size(); }
  size_t ready_group_count() const { return ready_count_; }

  const absl::btree_map<uint64_t, Meta>& messages() const { return messages_; }

 private:
  static constexpr uint32_t kNil = 0;  // group 0 is "none" in the ready list

  struct Group {
    std::string name;
    uint32_t messages = 0;
    uint32_t blocking = 0;
    uint32_t prev = kNil;
    uint32_t next = kNil;
    bool ready = false;
  };

  void Place(uint64_t seq, const Meta& meta);
  void Unplace(uint64_t seq, const Meta& meta);
  void Count(const Meta& meta, int delta);
  void RefreshGroup(uint32_t group);
  void LinkReady(uint32_t group);
  void UnlinkReady(uint32_t group);
  void MaybeFreeGroup(uint32_t group);

  const bool fifo_;
  absl::btree_map<uint64_t, Meta> messages_;
  uint64_t stored_bytes_ = 0;
  absl::btree_set<uint64_t> visible_;
  absl::btree_set<std::pair<int64_t, uint64_t>> timers_;
  absl::btree_set<std::pair<uint32_t, uint64_t>> group_msgs_;
  // FIFO groups: index 0 is unused (kNoGroup and the list sentinel).
  std::vector<Group> groups_ = std::vector<Group>(1);
  std::vector<uint32_t> free_groups_;
  absl::flat_hash_map<std::string, uint32_t> group_ids_;
  uint32_t ready_head_ = kNil;
  uint32_t ready_tail_ = kNil;
  size_t ready_count_ = 0;
  // (send second, first sequence sent in that second), in both orders.
  std::deque<std::pair<int64_t, uint64_t>> sent_seconds_;
  IndexCounts counts_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_QUEUE_MESSAGE_INDEX_H_
