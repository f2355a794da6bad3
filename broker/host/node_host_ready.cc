// NodeHost's write path: take the Ready of every group with work, send
// `messages` at once, put the rest of ALL groups into ONE WriteRequest (group
// commit), and finish each Ready once the writer reports it durable:
// messages_after_persist, apply, Advance (raft/README.md, steps 1-5).
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/logging.h"
#include "broker/host/group_registry.h"
#include "broker/host/node_host.h"
#include "broker/queue/state_write_batch.h"

namespace sluice::broker {
namespace {

using sluice::internal::raft::MESSAGE_TYPE_SNAPSHOT;

bool BatchEmpty(const leveldb::WriteBatch& batch) {
  static const size_t kEmpty = leveldb::WriteBatch().ApproximateSize();
  return batch.ApproximateSize() <= kEmpty;
}

// Keeps the node's DB open for as long as a transport reads the snapshot.
class DbPinningSource final : public SnapshotSource {
 public:
  DbPinningSource(std::shared_ptr<raft::RaftDb> db,
                  std::unique_ptr<SnapshotSource> inner)
      : db_(std::move(db)), inner_(std::move(inner)) {}
  absl::StatusOr<std::optional<std::string>> NextChunk(
      size_t max_bytes) override {
    return inner_->NextChunk(max_bytes);
  }

 private:
  std::shared_ptr<raft::RaftDb> db_;       // destroyed after inner_
  std::unique_ptr<SnapshotSource> inner_;  // pins a LevelDB snapshot
};

}  // namespace

void NodeHost::ProcessReadies() {
  Outbox out;
  raft::WriteRequest request;
  std::vector<WritePart> parts;
  std::vector<StatusCallback> removals;
  std::vector<raft::GroupId> destroyed;
  bool progressed = false;
  for (auto& [id, owned] : replicas_) {
    Replica& g = *owned;
    if (!g.started()) continue;  // being created
    if (g.removing) {
      if (g.inflight_writes == 0 && DestroyStep(g, request, parts, removals)) {
        destroyed.push_back(id);
      }
      continue;
    }
    if (g.settled()) continue;
    if (!g.ready_outstanding && g.core().HasReady()) {
      progressed |= TakeReady(g, out);
    }
    AddToRequest(g, request, parts);
    if (g.core().quiesced() && !g.ready_outstanding && !g.parked &&
        g.inflight_writes == 0 && BatchEmpty(g.sm_batch) && g.waiting.empty() &&
        g.pending_proposals() == 0 && !g.core().HasReady()) {
      g.Settle();
    }
  }
  for (raft::GroupId id : destroyed) replicas_.erase(id);
  // ① messages go out now, in parallel with the write below.
  Flush(out);
  if (!parts.empty() || !removals.empty() || !request.groups.empty() ||
      !BatchEmpty(request.extra)) {
    Submit(std::move(request), [this, parts = std::move(parts),
                                removals = std::move(removals)]() mutable {
      OnWriteDone(std::move(parts), std::move(removals));
    });
  }
  more_work_ = progressed;
}

bool NodeHost::TakeReady(Replica& g, Outbox& out) {
  raft::Ready rd = g.raw().GetReady();
  g.ready_outstanding = true;
  if (rd.soft_state.has_value()) NotifyLeadership(g);
  QueueMessages(g, rd.messages, out);
  rd.messages.clear();
  if (!rd.hard_state.has_value() && rd.entries.empty() &&
      !rd.snapshot.has_value()) {
    // Nothing to make durable: steps 3-5 at once.
    CompleteReady(g, rd, out);
    return true;
  }
  g.parked = std::move(rd);
  return false;
}

void NodeHost::AddToRequest(Replica& g, raft::WriteRequest& request,
                            std::vector<WritePart>& parts) {
  WritePart part;
  part.group = g.group();
  bool used = false;
  raft::GroupWrite write;
  write.group = g.group();
  bool has_write = false;

  // ② the Ready's snapshot, entries and hard state. A snapshot waits until
  // no earlier write of this group is in flight: the restore's clearing
  // reads the DB and must see every record the state machine wrote.
  if (g.parked.has_value() &&
      !(g.parked->snapshot.has_value() && g.inflight_writes > 0)) {
    raft::Ready& rd = *g.parked;
    if (rd.snapshot.has_value()) {
      // Writes of entries applied before the snapshot are superseded by it.
      g.sm_batch.Clear();
      LevelDbWriteBatch batch(&request.extra);
      absl::Status s = g.sm().PrepareRestore(rd.snapshot->data(), batch);
      SLUICE_CHECK(s.ok()) << "group " << g.group().value()
                           << ": cannot restore snapshot at index "
                           << rd.snapshot->metadata().index() << ": " << s;
      write.snapshot = rd.snapshot->metadata();
      g.snapshot_index = raft::Index(rd.snapshot->metadata().index());
      g.restoring = true;
    }
    write.entries = std::move(rd.entries);
    rd.entries.clear();
    write.hard_state = rd.hard_state;
    has_write = true;
    used = true;
    part.ready = std::move(*g.parked);
    g.parked.reset();
  }

  // The state machine's writes of the entries applied so far, in the same
  // batch as the Raft records.
  if (!BatchEmpty(g.sm_batch)) {
    request.extra.Append(g.sm_batch);
    g.sm_batch.Clear();
    used = true;
  }

  // A local snapshot at the applied index, written atomically with the
  // state machine's writes up to it (all in this or an earlier request).
  if (!write.snapshot.has_value() && !g.restoring) {
    if (auto meta = g.CompactionDue(options_.compact_after)) {
      const raft::Index at(meta->index());
      write.snapshot = *std::move(meta);
      g.snapshot_index = at;
      if (at.value() > options_.compact_keep) {
        write.compact_to = raft::Index(at.value() - options_.compact_keep);
      }
      has_write = true;
      used = true;
    }
  }

  if (!g.waiting.empty()) {
    if (used) {
      // Answered once the writes they depend on are durable.
      part.answers = std::move(g.waiting);
      g.waiting.clear();
    } else if (g.inflight_writes == 0) {
      RunAnswers(g.waiting);
    }  // else: wait for the writes in flight
  }
  if (has_write) request.groups.push_back(std::move(write));
  if (used) {
    part.applied_covered = g.applied();
    ++g.inflight_writes;
    parts.push_back(std::move(part));
  } else if (g.inflight_writes == 0) {
    g.durable_applied = g.applied();
  }
}

bool NodeHost::DestroyStep(Replica& g, raft::WriteRequest& request,
                           std::vector<WritePart>& parts,
                           std::vector<StatusCallback>& removals) {
  if (!g.destroy_started) {
    // The group record goes in the first step: a restart in the middle never
    // recovers a half-deleted replica (what is left stays orphaned under the
    // group's prefix; ids are never reused).
    g.destroy_started = true;
    g.sm_batch.Clear();
    DeleteGroupRecord(request.extra, g.group());
    RunAnswers(g.waiting);  // applied before the removal: their results hold
  }
  LevelDbWriteBatch batch(&request.extra);
  absl::StatusOr<bool> done =
      g.sm().DestroySome(batch, options_.destroy_step_records);
  if (!done.ok()) {
    SLUICE_LOG(ERROR) << "group " << g.group().value()
                      << ": state machine data not deleted: " << done.status();
  } else if (!*done) {
    // More next time, once this step is durable (the next one reads the DB).
    WritePart part;
    part.group = g.group();
    part.applied_covered = g.applied();
    ++g.inflight_writes;
    parts.push_back(std::move(part));
    return false;
  }
  auto it = removals_.find(g.group());
  if (it != removals_.end()) {
    removals.push_back(std::move(it->second));
    removals_.erase(it);
  }
  SLUICE_LOG(INFO) << "group " << g.group().value() << " removed";
  return true;
}

void NodeHost::CompleteReady(Replica& g, raft::Ready& rd, Outbox& out) {
  if (rd.snapshot.has_value()) {
    g.FinishRestore(rd.snapshot->metadata());
    g.restoring = false;
  }
  // ③ promises of durable state may go out now.
  QueueMessages(g, rd.messages_after_persist, out);
  // ④ apply.
  g.ApplyCommitted(rd.committed_entries);
  // ⑤
  g.raw().Advance();
  g.ready_outstanding = false;
  std::vector<Resolved> failed;
  g.FailStaleProposals(options_.clock->Now(), options_.stale_proposal_grace,
                       &failed);
  RunAnswers(failed);
}

void NodeHost::OnWriteDone(std::vector<WritePart> parts,
                           std::vector<StatusCallback> removals) {
  Outbox out;
  for (WritePart& part : parts) {
    Replica* g = Find(part.group);
    SLUICE_CHECK(g != nullptr)
        << "group " << part.group.value() << " removed with a write in flight";
    --g->inflight_writes;
    g->durable_applied = std::max(g->durable_applied, part.applied_covered);
    RunAnswers(part.answers);
    if (part.ready.has_value()) CompleteReady(*g, *part.ready, out);
  }
  Flush(out);
  for (StatusCallback& done : removals) std::move(done)(absl::OkStatus());
}

void NodeHost::Submit(raft::WriteRequest request,
                      absl::AnyInvocable<void()> on_durable) {
  ++outstanding_writes_;
  request.done =
      [this, on_durable = std::move(on_durable)](absl::Status status) mutable {
        // Writer thread: hand the completion to the loop.
        Post([this, status = std::move(status),
              on_durable = std::move(on_durable)]() mutable {
          // LevelDB cannot say what reached the disk after a failed write, and
          // the writer refuses everything after it: restart and recover.
          SLUICE_CHECK(status.ok()) << "node " << options_.node_id.value()
                                    << ": storage write failed: " << status;
          --outstanding_writes_;
          on_durable();
        });
      };
  db_->writer().Submit(std::move(request));
}

void NodeHost::QueueMessages(Replica& g, std::vector<Message>& messages,
                             Outbox& out) {
  for (Message& m : messages) {
    if (m.type() == MESSAGE_TYPE_SNAPSHOT) {
      SendSnapshot(g, std::move(m));
    } else {
      out[raft::NodeId(m.to())].push_back(std::move(m));
    }
  }
  messages.clear();
}

void NodeHost::SendSnapshot(Replica& g, Message message) {
  const raft::NodeId to(message.to());
  if (stopping_) return;
  auto source = g.sm().OpenSnapshot();
  if (!source.ok()) {
    SLUICE_LOG(WARNING) << "group " << g.group().value()
                        << ": cannot open a snapshot for node " << to.value()
                        << ": " << source.status();
    g.raw().ReportSnapshot(to, false);
    return;
  }
  OutgoingSnapshot snapshot;
  snapshot.group = g.group();
  snapshot.to = to;
  snapshot.message = std::move(message);
  snapshot.source = std::make_unique<DbPinningSource>(db_, *std::move(source));
  options_.transport->SendSnapshot(std::move(snapshot));
}

void NodeHost::Flush(Outbox& out) {
  if (!stopping_) {
    for (auto& [to, messages] : out) {
      if (messages.empty()) continue;
      liveness_.Sent(to);
      options_.transport->Send(to, std::move(messages));
    }
  }
  out.clear();
}

void NodeHost::NotifyLeadership(Replica& g) {
  const raft::SoftState now = g.raw().raft().soft_state();
  if (now == g.last_soft) return;
  g.last_soft = now;
  GroupStatus status = g.Status();
  SLUICE_LOG(INFO) << "group " << g.group().value() << " term "
                   << status.term.value() << ": " << raft::RoleName(now.role)
                   << ", leader " << now.lead.value();
  if (on_leader_change_) on_leader_change_(status);
}

}  // namespace sluice::broker
