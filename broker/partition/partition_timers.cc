// PartitionOps::Tick: what the leader drives on its own — retention,
// redrive steps, and copying the outbox to its destinations (dead-letter
// moves and redrive), each with at most one proposal or copy in flight;
// and AcceptMoves, the receiving end of such a copy.
#include <algorithm>
#include <utility>

#include "base/logging.h"
#include "broker/partition/partition_ops.h"

namespace sluice::broker {

void PartitionOps::Tick() {
  const absl::Time now = options_.clock->Now();
  TickExpire(now);
  TickRedrive();
  TickMoves(now);
}

void PartitionOps::TickExpire(absl::Time now) {
  if (expire_in_flight_ || (!expire_more_ && now < next_expire_)) return;
  if (!expire_more_) {
    // Nothing due yet: no proposal, so an idle partition stays quiet (its
    // Raft group quiesces). Checked again when due, or within a minute in
    // case the wall clock jumps.
    std::optional<absl::Time> due = queue_.NextRetentionDue();
    const absl::Duration wait =
        due.has_value() ? *due - WallNow() : absl::InfiniteDuration();
    if (wait > absl::ZeroDuration()) {
      next_expire_ =
          now + std::clamp(wait, options_.expire_interval, absl::Minutes(1));
      return;
    }
  }
  expire_in_flight_ = true;
  internal::Command command = NewCommand();
  command.mutable_expire_retention()->set_max_messages(options_.expire_batch);
  proposer_.Propose(std::move(command),
                    [this, alive = Alive()](absl::StatusOr<ApplyResult> r) {
                      if (alive.expired()) return;
                      expire_in_flight_ = false;
                      // More to delete: go on at the next tick, else wait an
                      // interval.
                      expire_more_ = r.ok() && r->more;
                      next_expire_ =
                          options_.clock->Now() + options_.expire_interval;
                    });
}

void PartitionOps::TickRedrive() {
  if (redrive_in_flight_) return;
  std::optional<internal::RedriveMove> move =
      queue_.PlanRedrive(options_.redrive_batch);
  if (!move.has_value()) return;
  redrive_in_flight_ = true;
  ReceivePlan reserved;  // to give the picks back if the proposal fails
  *reserved.dead_letter.mutable_messages() = move->messages();
  internal::Command command = NewCommand();
  *command.mutable_redrive_move() = *std::move(move);
  proposer_.Propose(std::move(command), [this, alive = Alive(), reserved](
                                            absl::StatusOr<ApplyResult>) {
    if (alive.expired()) return;
    redrive_in_flight_ = false;
    // Whatever was not moved is picked again later.
    queue_.ReleasePlan(reserved);
  });
}

void PartitionOps::TickMoves(absl::Time now) {
  if (move_in_flight_ || options_.move_sender == nullptr || now < next_move_) {
    return;
  }
  std::vector<OutboxEntry> first = queue_.Outbox(1);
  if (first.empty()) return;
  const std::string destination = first[0].destination;
  absl::StatusOr<internal::SendBatch> batch =
      queue_.BuildMoveBatch(destination, options_.move_batch);
  if (!batch.ok() || batch->entries_size() == 0) {
    // E.g. the outbox write is applied but not durable yet: try later.
    if (!batch.ok()) {
      SLUICE_LOG(WARNING) << "partition " << options_.partition
                          << ": outbox to " << destination << ": "
                          << batch.status();
    }
    next_move_ = now + options_.move_retry;
    return;
  }
  move_in_flight_ = true;
  internal::MoveDone move_done;
  for (const internal::SendEntry& e : batch->entries()) {
    move_done.add_sequences(e.moved_from().source_sequence());
  }
  auto fail = [this](const absl::Status& s) {
    SLUICE_LOG(WARNING) << "partition " << options_.partition
                        << ": outbox copy failed, retrying: " << s;
    move_in_flight_ = false;
    next_move_ = options_.clock->Now() + options_.move_retry;
  };
  options_.move_sender->SendMoves(
      destination, *std::move(batch),
      [this, alive = Alive(), move_done, fail](absl::Status copied) {
        if (alive.expired()) return;
        if (!copied.ok()) return fail(copied);
        internal::Command command = NewCommand();
        *command.mutable_move_done() = move_done;
        proposer_.Propose(std::move(command),
                          [this, alive, fail](absl::StatusOr<ApplyResult> r) {
                            if (alive.expired()) return;
                            if (!r.ok()) return fail(r.status());
                            move_in_flight_ = false;
                          });
      });
}

void PartitionOps::AcceptMoves(internal::SendBatch batch,
                               std::function<void(absl::Status)> done) {
  internal::Command command = NewCommand();
  *command.mutable_send() = std::move(batch);
  proposer_.Propose(std::move(command), [done](absl::StatusOr<ApplyResult> r) {
    if (!r.ok()) return done(r.status());
    if (!r->status.ok()) return done(r->status);
    for (const SendResult& s : r->sends) {
      if (!s.status.ok()) return done(s.status);
    }
    done(absl::OkStatus());
  });
}

}  // namespace sluice::broker
