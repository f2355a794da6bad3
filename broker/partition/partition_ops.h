// PartitionOps: the leader-side operations of one queue partition, in the
// public API's terms (proto/sluice/v1), independent of Raft and gRPC.
//
// Each operation takes the part of a v1 request routed to this partition,
// checks it, turns it into internal commands (commands.proto), proposes them
// through the Proposer and, once they are applied, answers with the v1
// response part. Reads (Peek, stats, redrive tasks) answer at once from this
// replica's state machine; the caller makes them linearizable if it must.
//
//   Send              SendBatch                      -> SendResponse
//   Receive           PlanReceive -> [MoveToDeadLetter] + GrantLeases
//                                  -> read bodies    -> ReceiveResponse
//   Delete / Ack      Delete                         -> per-entry results
//   ChangeVisibility / ExtendLease   ChangeVisibility -> per-entry results
//   Nack              Nack                           -> per-entry results
//   PurgeQueue        Purge (repeated while `more`)  -> PurgeQueueResponse
//   Start/CancelRedrive  StartRedrive / CancelRedrive
//   Tick              ExpireRetention, RedriveMove, outbox -> MoveSender
//                     -> MoveDone (at most one of each kind in flight)
//
// Errors: a malformed request fails the call (INVALID_ARGUMENT naming the
// field, with reason and field as status payloads, entry_status.h); an entry
// of a batch fails in its result; a failed proposal fails the call with the
// Proposer's status (UNAVAILABLE when leadership is lost).
//
// Long polling is the caller's: after an empty Receive it waits until
// HasVisible() (cheap) or until NextVisibleAt() on the state machine's
// monotonic clock, then receives again. Tick() must run periodically while
// this replica leads (e.g. every host tick).
//
// One per partition replica, owned by the node next to the state machine
// (both must outlive it). Not thread-safe: call it, and run the Proposer's
// callbacks, on the partition's event-loop thread. Callbacks that arrive
// after the object is destroyed answer UNAVAILABLE without touching it.
#ifndef SLUICE_BROKER_PARTITION_PARTITION_OPS_H_
#define SLUICE_BROKER_PARTITION_PARTITION_OPS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/clock.h"
#include "broker/partition/proposer.h"
#include "broker/queue/queue_state_machine.h"
#include "sluice/v1/queues.pb.h"

namespace sluice::broker {

struct PartitionOpsOptions {
  uint64_t queue_id = 0;   // Queue.queue_id: in message ids and handles
  uint32_t partition = 0;  // this partition's index in the queue
  // The leader's wall clock: log time of proposed commands, and the
  // informational lease deadlines in replies. Not owned.
  const Clock* wall_clock = nullptr;
  // Monotonic; the state machine's clock. Paces Tick(). Not owned.
  const Clock* clock = nullptr;
  // Copies the outbox (dead-letter moves, redrive) to other queues; nullptr:
  // the outbox is not drained by this object. Not owned.
  MoveSender* move_sender = nullptr;

  absl::Duration expire_interval = absl::Seconds(1);
  uint32_t expire_batch = 1000;  // ExpireRetention.max_messages
  uint32_t purge_batch = 10000;  // Purge.max_messages per command
  size_t move_batch = 100;       // outbox entries per SendMoves
  size_t redrive_batch = 100;    // messages per RedriveMove
  absl::Duration move_retry = absl::Seconds(1);  // after a failed copy
};

class PartitionOps {
 public:
  template <typename T>
  using Done = std::function<void(absl::StatusOr<T>)>;
  // Per-handle results of a stream item (ack, nack, extend). Its
  // correlation_id is the caller's to set; `status` is OK or the first
  // failure, `receipt_results` has every handle in order.
  using ItemDone = Done<v1::StreamItemResult>;

  PartitionOps(QueueStateMachine& queue, Proposer& proposer,
               PartitionOpsOptions options);
  PartitionOps(const PartitionOps&) = delete;
  PartitionOps& operator=(const PartitionOps&) = delete;

  // `request` holds only this partition's entries (queue_name is not
  // checked: the node resolved it). `request_indexes[i]` is the i-th
  // entry's index in the client's request, for field paths in errors
  // (empty: the part is the whole request). Results are in part order.
  void Send(const v1::SendRequest& request, Done<v1::SendResponse> done,
            absl::Span<const int> request_indexes = {});

  // Leases up to max_messages now (no waiting; wait_time and partitions are
  // the caller's). Messages past max_bytes are released again at once
  // (their receive count stays raised).
  void Receive(const v1::ReceiveRequest& request,
               Done<v1::ReceiveResponse> done);

  // Entries whose handles name this partition of this queue (the node
  // routes by ReceiptHandlePartition); any other handle fails its entry with
  // INVALID_ARGUMENT, RECEIPT_HANDLE_INVALID.
  void Delete(const v1::DeleteRequest& request, Done<v1::DeleteResponse> done,
              absl::Span<const int> request_indexes = {});
  // `undo_receive`: the leases never reached a client; every timeout must
  // be 0 and each message's receive count goes back down.
  void ChangeVisibility(const v1::ChangeVisibilityRequest& request,
                        Done<v1::ChangeVisibilityResponse> done,
                        absl::Span<const int> request_indexes = {},
                        bool undo_receive = false);

  // StreamReceive items.
  void Ack(const v1::StreamAck& ack, ItemDone done);
  void Nack(const v1::StreamNack& nack, ItemDone done);
  void ExtendLease(const v1::StreamExtendLease& extend, ItemDone done);

  // Destination side of a MoveSender: applies a batch of moved messages
  // (from another partition's BuildMoveBatch) here. OK once every entry is
  // in (new or a duplicate of an earlier copy).
  void AcceptMoves(internal::SendBatch batch,
                   std::function<void(absl::Status)> done);

  // Reads of this replica (no proposal).
  absl::StatusOr<v1::PeekResponse> Peek(const v1::PeekRequest& request);
  // Counts of this partition: `counts`, one `partitions` entry if asked
  // (leader fields are the node's), FIFO group totals and a page of groups.
  // Counters (sent, received ...) and backlog_bytes are not kept yet (0).
  absl::StatusOr<v1::GetQueueStatsResponse> GetQueueStats(
      const v1::GetQueueStatsRequest& request);

  void PurgeQueue(const v1::PurgeQueueRequest& request,
                  Done<v1::PurgeQueueResponse> done);

  // Redrive out of this partition towards destination_queue_name, which
  // must be set: the node resolves an empty one (each message's source
  // queue) from the cluster metadata. One task per partition, with id
  // RedriveTaskId(); Tick() moves the messages.
  void StartRedrive(const v1::StartRedriveRequest& request,
                    Done<v1::StartRedriveResponse> done);
  v1::ListRedriveTasksResponse ListRedriveTasks(
      const v1::ListRedriveTasksRequest& request);
  void CancelRedrive(const v1::CancelRedriveRequest& request,
                     Done<v1::CancelRedriveResponse> done);
  std::string RedriveTaskId() const;

  // Long-poll support. HasVisible: a Receive now would find something
  // (standard: a pickable message, O(log n); FIFO: a group whose head is
  // pickable and that has nothing in flight, O(1)). NextVisibleAt: the
  // earliest delay, lease or reservation that runs out, on the state
  // machine's monotonic clock; nullopt if none runs.
  bool HasVisible();
  std::optional<absl::Time> NextVisibleAt();

  // The leader's periodic work; proposes nothing already in flight.
  void Tick();

 private:
  // kRelease: a change to 0 that also undoes the receive.
  enum class ReceiptKind { kDelete, kChange, kNack, kRelease };
  struct ReceiptItem {
    std::string handle;
    std::optional<absl::Duration> duration;  // change: timeout; nack: delay
  };
  using ReceiptsDone =
      std::function<void(absl::StatusOr<std::vector<absl::Status>>)>;

  internal::Command NewCommand() const;
  absl::Time WallNow() const { return options_.wall_clock->Now(); }
  // Lets the state machine's index catch up with its clock.
  void Refresh();
  std::weak_ptr<bool> Alive() const { return alive_; }

  // Decodes the handles, proposes one command for the good ones, and
  // answers one status per item in order (public reasons attached).
  void ProposeReceipts(ReceiptKind kind, std::vector<ReceiptItem> items,
                       absl::Span<const int> request_indexes,
                       ReceiptsDone done);
  absl::StatusOr<internal::ReceiptRef> CheckHandle(const std::string& handle,
                                                   ReceiptKind kind);
  void ItemResults(ReceiptKind kind, std::vector<ReceiptItem> items,
                   ItemDone done);

  // Receive: after the grant applied.
  v1::ReceiveResponse Deliver(const v1::ReceiveRequest& request,
                              const ApplyResult& result,
                              absl::Duration timeout);
  void ReleaseLater(std::vector<internal::ReceiptRef> receipts);

  void PurgeStep(internal::Purge purge, absl::Time started, uint64_t removed,
                 Done<v1::PurgeQueueResponse> done);
  v1::RedriveTask TaskView(const RedriveProgress& progress) const;

  void TickExpire(absl::Time now);
  void TickRedrive();
  void TickMoves(absl::Time now);

  QueueStateMachine& queue_;
  Proposer& proposer_;
  const PartitionOpsOptions options_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  // Tick state: at most one proposal (or copy) of each kind in flight.
  bool expire_in_flight_ = false;
  bool expire_more_ = false;
  absl::Time next_expire_ = absl::InfinitePast();
  bool redrive_in_flight_ = false;
  bool move_in_flight_ = false;
  absl::Time next_move_ = absl::InfinitePast();
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_PARTITION_PARTITION_OPS_H_
