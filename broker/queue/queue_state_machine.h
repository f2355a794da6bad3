// QueueStateMachine: one partition of one queue, as every replica applies it
// from the partition's Raft log (README.md has the design and the rules).
//
//   Apply(command, log index, batch)  deterministic; no clock read for
//       anything replicated: the command carries the leader's log time. Writes
//       go into the host's StateWriteBatch; the index in memory changes at
//       once. Bad input never crashes: it comes back in ApplyResult.
//   PlanReceive / PlanRedrive  leader only: read the state and build the
//       GrantLeases / MoveToDeadLetter / RedriveMove command to propose.
//       They reserve what they pick (on this replica only) so that the next
//       plan does not pick it again before the grant is applied.
//   ReadMessage / Peek / Stats / Outbox / BuildMoveBatch  queries.
//
// Lease and delay deadlines are this replica's own, on the injected
// monotonic clock, counted from when it applied the command.
//
// Owned by the host (one per partition replica); not thread-safe: call it
// only from the partition's event loop. Reads (ReadMessage, Open, Digest,
// snapshots) go to the DB, so the host writes each batch before it reads
// what that batch changed.
#ifndef SLUICE_BROKER_QUEUE_QUEUE_STATE_MACHINE_H_
#define SLUICE_BROKER_QUEUE_QUEUE_STATE_MACHINE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "broker/queue/keys.h"
#include "broker/queue/message_index.h"
#include "broker/queue/state_write_batch.h"
#include "broker/queue/types.h"
#include "leveldb/db.h"
#include "sluice/internal/commands.pb.h"
#include "sluice/internal/queue_state.pb.h"

namespace sluice::broker {

struct QueueOptions {
  PartitionId partition;
  // QueueKeyPrefix(group id): where this partition's records live.
  std::string key_prefix;
  leveldb::DB* db = nullptr;     // not owned
  const Clock* clock = nullptr;  // monotonic; not owned
  // How long a message picked by PlanReceive stays reserved if its grant is
  // never applied (the proposal was lost).
  absl::Duration reservation_timeout = absl::Seconds(10);
};

// The outcome of one SendEntry.
struct SendResult {
  absl::Status status;
  MessageSeq seq;          // 0 when unknown (an older idempotent duplicate)
  bool duplicate = false;  // dedup id or producer sequence seen before
};

// One message a GrantLeases leased.
struct LeasedMessage {
  MessageSeq seq;
  uint32_t receive_count = 0;
  std::string receipt_handle;
};

struct ApplyResult {
  absl::Status status;  // the command as a whole (e.g. bad attributes)
  std::vector<SendResult> sends;      // SendBatch: one per entry
  std::vector<LeasedMessage> leased;  // GrantLeases: the grants that held
  // Delete, ChangeVisibility, Nack, MoveToDeadLetter, RedriveMove,
  // CancelScheduled, MoveDone: one per entry, in order.
  std::vector<absl::Status> entries;
  // Purge, ExpireRetention: stopped at max_messages with more to delete;
  // propose the command again (Purge with below_sequence = purge_below).
  bool more = false;
  MessageSeq purge_below;
  // Purge, ExpireRetention: how many messages this command deleted.
  uint64_t removed = 0;
};

// A message as a receiver (or a peek) sees it, read from LevelDB.
struct StoredMessage {
  MessageSeq seq;
  internal::StoredBody body;
  internal::StoredMessageMeta meta;
  internal::StoredMessageState state;
  std::optional<absl::Time> first_receive;
};

struct ReceiveOptions {
  uint32_t max_messages = 1;
  std::optional<absl::Duration> visibility_timeout;  // queue default if unset
};

// What the leader proposes for a receive (either may be empty).
struct ReceivePlan {
  internal::GrantLeases grant;
  internal::MoveToDeadLetter dead_letter;
};

struct OutboxEntry {
  MessageSeq seq;
  uint64_t move_sequence = 0;
  std::string destination;
};

struct QueueStats {
  uint64_t visible = 0;
  uint64_t in_flight = 0;
  uint64_t delayed = 0;
  uint64_t outbox = 0;
  uint64_t stored_bytes = 0;  // message bodies held, outbox included
  std::optional<absl::Duration> oldest_age;  // at the given wall time
  uint64_t groups = 0;                       // FIFO: groups with messages
  uint64_t ready_groups = 0;                 // FIFO: none in flight
};

struct RedriveProgress {
  bool running = false;
  bool completed = false;
  std::string destination;
  uint64_t moved = 0;
  uint64_t started_with = 0;
};

class QueueStateMachine {
 public:
  // Rebuilds the index from the records under options.key_prefix (an empty
  // range is a new, empty standard queue) without reading bodies.
  static absl::StatusOr<std::unique_ptr<QueueStateMachine>> Open(
      QueueOptions options);

  QueueStateMachine(const QueueStateMachine&) = delete;
  QueueStateMachine& operator=(const QueueStateMachine&) = delete;

  ApplyResult Apply(const internal::Command& command, uint64_t log_index,
                    StateWriteBatch& batch);

  // Leader side.
  ReceivePlan PlanReceive(const ReceiveOptions& options);
  // Gives back what a plan reserved, when its proposal will not be applied.
  void ReleasePlan(const ReceivePlan& plan);
  // Up to `max` visible messages towards the running redrive task, limited
  // to its rate on this replica's clock; nullopt if nothing to do.
  std::optional<internal::RedriveMove> PlanRedrive(size_t max);
  // The SendBatch that copies up to `max` outbox entries bound for
  // `destination` (idempotently: producer MoveProducerId(), sequence = move
  // sequence). The host sends it to the destination's partition, then
  // proposes MoveDone here.
  absl::StatusOr<internal::SendBatch> BuildMoveBatch(
      const std::string& destination, size_t max) const;
  std::string MoveProducerId() const;
  // When (leader's wall time) an ExpireRetention would next find something
  // to delete: the oldest message or idle producer reaching the retention
  // period (at most a second early: send times are kept in seconds).
  // nullopt when nothing is stored that could expire. Lets an idle leader
  // skip proposing expiries that would do nothing.
  std::optional<absl::Time> NextRetentionDue() const;

  // Queries.
  absl::StatusOr<StoredMessage> ReadMessage(
      MessageSeq seq, const leveldb::Snapshot* snapshot = nullptr) const;
  // Visible messages after `after`, in sequence order, without leasing.
  std::vector<MessageSeq> Peek(MessageSeq after, size_t max);
  std::vector<OutboxEntry> Outbox(size_t max) const;
  QueueStats Stats(absl::Time wall_now);
  std::optional<MessageIndex::GroupCounts> GroupStats(std::string_view group);
  RedriveProgress Redrive() const;
  const internal::QueueAttributes& attributes() const { return attributes_; }
  uint64_t last_applied_index() const { return counters_.last_applied_index(); }
  // Sequence counters and the message totals (sent, received, ...).
  const internal::StoredCounters& counters() const { return counters_; }
  PartitionId partition() const { return options_.partition; }

  // A hash of the whole replicated state (records in LevelDB and the
  // logical part of the index; never this replica's deadlines), hex.
  absl::StatusOr<std::string> Digest() const;

  // For tests and the memory benchmark.
  const MessageIndex& index() const { return *index_; }

 private:
  explicit QueueStateMachine(QueueOptions options);

  absl::Status Load();
  absl::Time Now() const { return options_.clock->Now(); }
  int64_t NowMicros() const { return absl::ToUnixMicros(Now()); }

  // apply_send.cc
  void ApplySend(const internal::SendBatch& send, StateWriteBatch& batch,
                 ApplyResult& result);
  SendResult SendOne(const internal::SendEntry& entry, int index,
                     StateWriteBatch& batch);
  void ExpireDedup(StateWriteBatch& batch);
  // apply_lease.cc
  void ApplyGrant(const internal::GrantLeases& grant, StateWriteBatch& batch,
                  ApplyResult& result);
  void ApplyDelete(const internal::Delete& del, StateWriteBatch& batch,
                   ApplyResult& result);
  void ApplyChangeVisibility(const internal::ChangeVisibility& change,
                             StateWriteBatch& batch, ApplyResult& result);
  void ApplyNack(const internal::Nack& nack, StateWriteBatch& batch,
                 ApplyResult& result);
  void ApplyCancelScheduled(const internal::CancelScheduled& cancel,
                            StateWriteBatch& batch, ApplyResult& result);
  absl::StatusOr<Meta> CheckReceipt(const internal::ReceiptRef& receipt) const;
  // Makes a leased message invisible for `d` (visible at once if d is 0).
  void Relet(uint64_t seq, Meta meta, absl::Duration d, StateWriteBatch& batch);
  absl::Duration Backoff(uint32_t receive_count) const;
  // apply_move.cc
  void ApplyMoveToDeadLetter(const internal::MoveToDeadLetter& move,
                             StateWriteBatch& batch, ApplyResult& result);
  void ApplyMoveDone(const internal::MoveDone& done, StateWriteBatch& batch,
                     ApplyResult& result);
  void ApplyStartRedrive(const internal::StartRedrive& start,
                         StateWriteBatch& batch, ApplyResult& result);
  void ApplyCancelRedrive(StateWriteBatch& batch);
  void ApplyRedriveMove(const internal::RedriveMove& move,
                        StateWriteBatch& batch, ApplyResult& result);
  void ApplyPurge(const internal::Purge& purge, StateWriteBatch& batch,
                  ApplyResult& result);
  void ApplyExpireRetention(const internal::ExpireRetention& expire,
                            StateWriteBatch& batch, ApplyResult& result);
  void ApplySetAttributes(const internal::SetQueueAttributes& set,
                          StateWriteBatch& batch, ApplyResult& result);
  void ToOutbox(uint64_t seq, Meta meta, const std::string& destination,
                StateWriteBatch& batch);

  // Record writes.
  void WriteState(uint64_t seq, const Meta& meta, int64_t visible_after,
                  StateWriteBatch& batch, const std::string& destination = "",
                  uint64_t move_sequence = 0);
  void DeleteMessage(uint64_t seq, StateWriteBatch& batch);
  void WriteCounters(StateWriteBatch& batch);

  QueueOptions options_;
  QueueKeys keys_;
  internal::QueueAttributes attributes_;  // resolved
  bool configured_ = false;               // a SetQueueAttributes applied
  internal::StoredCounters counters_;
  std::unique_ptr<MessageIndex> index_;
  // Log time of the command being applied (never decreasing).
  absl::Time log_time_ = absl::UnixEpoch();

  struct DedupEntry {
    uint64_t seq = 0;
    int64_t sent_micros = 0;
  };
  // FIFO dedup ids by Keys::Dedup key, and their expiry order.
  absl::flat_hash_map<std::string, DedupEntry> dedup_;
  std::deque<std::pair<int64_t, std::string>> dedup_order_;
  absl::flat_hash_map<std::string, internal::StoredProducer> producers_;
  // Messages in the outbox, by move sequence (the order they leave in).
  struct OutboxItem {
    uint64_t seq = 0;
    std::string destination;
  };
  absl::btree_map<uint64_t, OutboxItem> outbox_;
  absl::flat_hash_map<uint64_t, uint64_t> outbox_move_seq_;  // seq -> move
  std::optional<internal::StoredRedrive> redrive_;
  // PlanRedrive's token bucket (this replica only).
  double redrive_tokens_ = 0;
  absl::Time redrive_refilled_ = absl::InfinitePast();
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_QUEUE_QUEUE_STATE_MACHINE_H_
