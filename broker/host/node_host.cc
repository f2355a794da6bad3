// NodeHost: lifecycle, the public API (posting to the loop), and the loop
// itself. The write path (Ready -> WriteRequest -> completion) is in
// node_host_ready.cc.
#include "broker/host/node_host.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/logging.h"
#include "broker/host/group_registry.h"
#include "broker/host/host_errors.h"
#include "broker/host/latch.h"
#include "raft/leveldb/mutex_lock.h"

namespace sluice::broker {

using raft::ldb::MutexLock;

absl::StatusOr<std::unique_ptr<NodeHost>> NodeHost::Open(Options options) {
  if (options.node_id == raft::kNoNode || options.transport == nullptr ||
      !options.factory) {
    return absl::InvalidArgumentError(
        "NodeHost::Options: node_id, transport and factory are required");
  }
  absl::StatusOr<std::unique_ptr<raft::RaftDb>> db =
      raft::RaftDb::Open(options.data_dir, std::move(options.db));
  if (!db.ok()) return db.status();
  std::unique_ptr<NodeHost> host(new NodeHost(
      std::move(options), std::shared_ptr<raft::RaftDb>(*std::move(db))));
  if (absl::Status s = host->Recover(); !s.ok()) return s;
  host->options_.transport->Start(host.get());
  host->loop_ = std::thread([h = host.get()] { h->Run(); });
  return host;
}

NodeHost::NodeHost(Options options, std::shared_ptr<raft::RaftDb> db)
    : options_(std::move(options)),
      db_(std::move(db)),
      liveness_(raft::kSilentElectionTimeouts * options_.election_tick),
      on_leader_change_(std::move(options_.on_leader_change)) {}

NodeHost::~NodeHost() {
  SLUICE_CHECK(!OnLoopThread()) << "NodeHost destroyed from its own loop";
  // Stop sending first, then inbound traffic, then let the writes in flight
  // finish so that no writer callback outlives the host.
  {
    MutexLock lock(&mu_);
    stop_requested_ = true;
    work_.Signal();
  }
  options_.transport->Stop();
  if (loop_.joinable()) loop_.join();
  // Tasks posted after the loop ended (proposals, queries) fail now.
  while (true) {
    std::deque<absl::AnyInvocable<void()>> tasks;
    {
      MutexLock lock(&mu_);
      tasks.swap(tasks_);
    }
    if (tasks.empty()) break;
    for (auto& task : tasks) task();
  }
  std::vector<Resolved> answers;
  const absl::Status down = absl::UnavailableError(
      absl::StrCat("node ", options_.node_id.value(), " is shutting down"));
  for (auto& [id, g] : replicas_) {
    g->proposals().FailAll(down, &answers);
    for (Resolved& r : g->waiting) {
      answers.push_back({std::move(r.callback), down});
    }
    g->waiting.clear();
  }
  RunAnswers(answers);
  for (auto& [id, done] : removals_) std::move(done)(down);
  replicas_.clear();
}

absl::Status NodeHost::Recover() {
  auto registry = LoadGroupRegistry(db_->db());
  if (!registry.ok()) return registry.status();
  for (raft::GroupId group : db_->Groups()) {
    if (!registry->contains(group)) {
      SLUICE_LOG(WARNING) << "raft records of group " << group.value()
                          << " without a host record (removed): ignored";
    }
  }
  for (const auto& [group, kind] : *registry) {
    auto sm = options_.factory(group, kind, db_->db());
    if (!sm.ok()) {
      return absl::Status(sm.status().code(),
                          absl::StrCat("group ", group.value(), " (", kind,
                                       "): ", sm.status().message()));
    }
    auto g = std::make_unique<Replica>(group, kind, *std::move(sm),
                                       &db_->Storage(group));
    if (absl::Status s = g->Start(BaseConfig(), SeedFor(group)); !s.ok()) {
      return s;
    }
    replicas_[group] = std::move(g);
  }
  return absl::OkStatus();
}

raft::Config NodeHost::BaseConfig() const {
  raft::Config c;
  c.id = options_.node_id;
  c.election_tick = options_.election_tick;
  c.heartbeat_tick = options_.heartbeat_tick;
  c.pre_vote = options_.pre_vote;
  c.check_quorum = options_.check_quorum;
  c.max_size_per_msg = options_.max_size_per_msg;
  c.max_inflight_msgs = options_.max_inflight_msgs;
  c.max_uncommitted_entries_size = options_.max_uncommitted_entries_size;
  return c;
}

uint64_t NodeHost::SeedFor(raft::GroupId group) const {
  return options_.seed * 0x9E3779B97F4A7C15ull ^
         (options_.node_id.value() << 32) ^ group.value();
}

bool NodeHost::OnLoopThread() const {
  return std::this_thread::get_id() == loop_thread_id_.load();
}

void NodeHost::Post(absl::AnyInvocable<void()> task) {
  MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
  work_.Signal();
}

void NodeHost::RunSync(absl::AnyInvocable<void()> fn) {
  if (OnLoopThread()) {
    fn();
    return;
  }
  Latch done;
  Post([&] {
    fn();
    done.Notify();
  });
  done.Wait();
}

// ---- Public API -----------------------------------------------------------

void NodeHost::CreateGroup(GroupSpec spec, StatusCallback done) {
  Post([this, spec = std::move(spec), done = std::move(done)]() mutable {
    DoCreateGroup(std::move(spec), std::move(done));
  });
}

absl::Status NodeHost::CreateGroup(GroupSpec spec) {
  SLUICE_CHECK(!OnLoopThread()) << "blocking CreateGroup on the loop thread";
  Latch n;
  absl::Status result;
  CreateGroup(std::move(spec), [&](absl::Status s) {
    result = std::move(s);
    n.Notify();
  });
  n.Wait();
  return result;
}

void NodeHost::RemoveGroup(raft::GroupId group, StatusCallback done) {
  Post([this, group, done = std::move(done)]() mutable {
    DoRemoveGroup(group, std::move(done));
  });
}

absl::Status NodeHost::RemoveGroup(raft::GroupId group) {
  SLUICE_CHECK(!OnLoopThread()) << "blocking RemoveGroup on the loop thread";
  Latch n;
  absl::Status result;
  RemoveGroup(group, [&](absl::Status s) {
    result = std::move(s);
    n.Notify();
  });
  n.Wait();
  return result;
}

void NodeHost::Propose(raft::GroupId group, std::string data,
                       ProposeCallback done) {
  if (queued_proposals_.fetch_add(1) >= options_.max_queued_proposals) {
    const size_t queued = queued_proposals_.fetch_sub(1);
    std::move(done)(TooManyProposalsError(group, queued, options_.retry_hint));
    return;
  }
  Post([this, group, data = std::move(data), done = std::move(done)]() mutable {
    queued_proposals_.fetch_sub(1);
    DoPropose(group, std::move(data), std::nullopt, std::move(done));
  });
}

void NodeHost::ProposeConfChange(raft::GroupId group, ConfChange cc,
                                 ProposeCallback done) {
  Post([this, group, cc = std::move(cc), done = std::move(done)]() mutable {
    DoPropose(group, "", std::move(cc), std::move(done));
  });
}

void NodeHost::TransferLeadership(raft::GroupId group, raft::NodeId to,
                                  StatusCallback done) {
  Post([this, group, to, done = std::move(done)]() mutable {
    Replica* g = FindActive(group);
    if (g == nullptr) {
      std::move(done)(absl::NotFoundError(
          absl::StrCat("group ", group.value(), " is not hosted here")));
      return;
    }
    std::move(done)(g->raw().TransferLeadership(to));
  });
}

void NodeHost::Campaign(raft::GroupId group) {
  Post([this, group] {
    if (Replica* g = FindActive(group)) g->raw().Campaign();
  });
}

void NodeHost::TickAll() {
  MutexLock lock(&mu_);
  ++manual_ticks_;
  work_.Signal();
}

absl::Status NodeHost::WithStateMachine(
    raft::GroupId group,
    absl::AnyInvocable<void(ReplicaStateMachine&, const GroupStatus&)> fn) {
  absl::Status result;
  RunSync([&] {
    Replica* g = FindActive(group);
    if (g == nullptr) {
      result = absl::NotFoundError(
          absl::StrCat("group ", group.value(), " is not hosted here"));
      return;
    }
    fn(g->sm(), g->Status());
  });
  return result;
}

std::vector<GroupStatus> NodeHost::Status() {
  std::vector<GroupStatus> all;
  RunSync([&] {
    for (auto& [id, g] : replicas_) {
      if (g->started()) all.push_back(g->Status());
    }
  });
  return all;
}

std::optional<GroupStatus> NodeHost::StatusOf(raft::GroupId group) {
  std::optional<GroupStatus> status;
  RunSync([&] {
    if (Replica* g = FindActive(group)) status = g->Status();
  });
  return status;
}

void NodeHost::Deliver(raft::NodeId from, std::vector<Message> messages) {
  Post([this, from, messages = std::move(messages)] {
    if (liveness_.Heard(from)) {
      SLUICE_LOG(INFO) << "node " << from.value() << " is heard from again";
      WakeGroupsOf(from);
    }
    for (const Message& m : messages) {
      Replica* g = FindActive(raft::GroupId(m.group()));
      if (g == nullptr) continue;  // not (or no longer, or not yet) here
      if (m.type() == sluice::internal::raft::MESSAGE_TYPE_TIMEOUT_NOW &&
          draining_.load()) {
        continue;
      }
      if (m.type() == sluice::internal::raft::MESSAGE_TYPE_SNAPSHOT) {
        // Once Raft installs a snapshot the restore cannot be refused, so
        // data the state machine could not load is refused here.
        if (absl::Status s = g->sm().CheckSnapshot(m.snapshot().data());
            !s.ok()) {
          SLUICE_LOG(ERROR) << "group " << m.group() << ": snapshot at index "
                            << m.snapshot().metadata().index() << " from node "
                            << from.value() << " refused: " << s;
          continue;
        }
      }
      if (absl::Status s = g->raw().Step(m); !s.ok()) {
        SLUICE_LOG(DEBUG) << "group " << m.group() << ": message from node "
                          << from.value() << " refused: " << s;
      }
    }
  });
}

void NodeHost::ReportUnreachable(raft::NodeId peer) {
  Post([this, peer] {
    for (auto& [id, g] : replicas_) {
      if (!g->started()) continue;
      if (g->is_leader()) {
        g->raw().ReportUnreachable(peer);
      } else {
        g->raw().LeaderUnreachable(peer);  // a dead leader: elect sooner
      }
    }
  });
}

void NodeHost::ReportSnapshot(raft::GroupId group, raft::NodeId to, bool ok) {
  Post([this, group, to, ok] {
    if (Replica* g = FindActive(group)) g->raw().ReportSnapshot(to, ok);
  });
}

// ---- Loop -------------------------------------------------------------------

Replica* NodeHost::Find(raft::GroupId group) {
  auto it = replicas_.find(group);
  return it == replicas_.end() ? nullptr : it->second.get();
}

Replica* NodeHost::FindActive(raft::GroupId group) {
  Replica* g = Find(group);
  return g != nullptr && g->started() && !g->removing ? g : nullptr;
}

ReplicaStateMachine* NodeHost::LocalStateMachine(raft::GroupId group) {
  Replica* g = FindActive(group);
  return g == nullptr ? nullptr : &g->sm();
}

bool NodeHost::HasWork() const {
  return !tasks_.empty() || manual_ticks_ > 0 || stop_requested_;
}

void NodeHost::Run() {
  loop_thread_id_.store(std::this_thread::get_id());
  const bool ticking = options_.tick_interval > absl::ZeroDuration();
  absl::Time next_tick = options_.clock->Now() + options_.tick_interval;
  while (true) {
    std::deque<absl::AnyInvocable<void()>> tasks;
    int ticks = 0;
    bool stop = false;
    {
      MutexLock lock(&mu_);
      while (!more_work_ && !HasWork()) {
        if (!ticking) {
          raft::ldb::Wait(&work_, &mu_);
          continue;
        }
        const absl::Duration left = next_tick - options_.clock->Now();
        if (left <= absl::ZeroDuration()) break;
        raft::ldb::TsanRelease(&mu_);
        work_.WaitWithTimeout(&mu_, left);
        raft::ldb::TsanAcquire(&mu_);
      }
      tasks.swap(tasks_);
      ticks = manual_ticks_;
      manual_ticks_ = 0;
      stop = stop_requested_;
    }
    if (ticking && options_.clock->Now() >= next_tick) {
      ++ticks;
      next_tick = options_.clock->Now() + options_.tick_interval;
    }
    if (stop) stopping_ = true;
    for (auto& task : tasks) task();
    for (int i = 0; i < ticks && !stopping_; ++i) TickGroups();
    if (stopping_) {
      if (outstanding_writes_ == 0) return;
      more_work_ = false;
      continue;
    }
    ProcessReadies();
  }
}

void NodeHost::TickGroups() {
  std::vector<Resolved> failed;
  absl::flat_hash_set<raft::NodeId> members;
  for (auto& [id, g] : replicas_) {
    if (!g->started() || g->removing) continue;
    for (const auto& [node, pr] : g->core().raft().tracker().progress()) {
      if (node != options_.node_id) members.insert(node);
    }
    if (g->settled()) continue;  // quiesced, nothing pending
    if (options_.quiesce_idle_groups && g->pending_proposals() == 0) {
      (void)g->raw().MaybeQuiesce();  // then the tick below does nothing
    }
    g->raw().Tick();
    // An idle group has no Ready to re-check its stale proposals on.
    if (g->pending_proposals() > 0) {
      g->FailStaleProposals(options_.clock->Now(),
                            options_.stale_proposal_grace, &failed);
    }
  }
  RunAnswers(failed);
  TickPeers(members);
}

void NodeHost::TickPeers(const absl::flat_hash_set<raft::NodeId>& members) {
  raft::PeerLiveness::TickResult result = liveness_.Tick(members);
  for (raft::NodeId peer : result.went_down) {
    SLUICE_LOG(WARNING) << "node " << peer.value() << " silent for "
                        << raft::kSilentElectionTimeouts *
                               options_.election_tick
                        << " ticks: waking the groups it is a member of";
    WakeGroupsOf(peer);
  }
  for (raft::NodeId peer : result.need_keepalive) {
    options_.transport->Send(peer, {});
  }
}

void NodeHost::WakeGroupsOf(raft::NodeId peer) {
  for (auto& [id, g] : replicas_) {
    if (!g->started() || g->removing || !g->core().quiesced()) continue;
    if (!g->core().raft().tracker().progress().contains(peer)) continue;
    // Only woken, not hurried into an election: silence can be a busy or
    // slow peer (all nodes see it at once), so a follower just resumes its
    // election timer, and the pre-vote it may start wakes the leader if the
    // leader is alive. A dead connection (kill -9) still elects at once
    // through ReportUnreachable.
    g->raw().Unquiesce();
  }
}

void NodeHost::DoPropose(raft::GroupId group, std::string data,
                         std::optional<ConfChange> cc, ProposeCallback done) {
  if (stopping_) {
    std::move(done)(absl::UnavailableError(
        absl::StrCat("node ", options_.node_id.value(), " is shutting down")));
    return;
  }
  Replica* g = FindActive(group);
  if (g == nullptr) {
    std::move(done)(absl::NotFoundError(
        absl::StrCat("group ", group.value(), " is not hosted here")));
    return;
  }
  raft::RawNode& raw = g->raw();
  if (!g->is_leader()) {
    std::move(done)(NotLeaderError(group, raw.raft().lead()));
    return;
  }
  if (g->proposals().size() >= options_.max_pending_proposals) {
    std::move(done)(TooManyProposalsError(group, g->proposals().size(),
                                          options_.retry_hint));
    return;
  }
  const raft::Index before = raw.raft().log().LastIndex();
  absl::Status s = cc.has_value() ? raw.ProposeConfChange(*cc)
                                  : raw.Propose(std::move(data));
  if (s.code() == absl::StatusCode::kResourceExhausted) {
    s = absl::ResourceExhaustedError(
        absl::StrCat(s.message(), "; retry after ",
                     absl::FormatDuration(options_.retry_hint)));
  }
  if (!s.ok()) {
    // Refused by the core (e.g. a leadership transfer is in progress):
    // nothing was appended.
    std::move(done)(NotProposed(std::move(s)));
    return;
  }
  const raft::Index index = raw.raft().log().LastIndex();
  SLUICE_CHECK(index == before + 1)
      << "group " << group.value() << " term " << raw.raft().term().value()
      << ": proposal appended at " << index.value() << " after "
      << before.value();
  g->proposals().Add(index, raw.raft().term(), std::move(done));
}

void NodeHost::DoCreateGroup(GroupSpec spec, StatusCallback done) {
  const raft::GroupId group = spec.group;
  if (stopping_) {
    std::move(done)(absl::UnavailableError("shutting down"));
    return;
  }
  if (Find(group) != nullptr) {
    std::move(done)(absl::AlreadyExistsError(
        absl::StrCat("group ", group.value(), " is already hosted here")));
    return;
  }
  raft::LevelDbLogStorage& storage = db_->Storage(group);
  auto initial = storage.GetInitialState();
  if (!initial.ok()) {
    std::move(done)(initial.status());
    return;
  }
  if (storage.LastIndex() > raft::Index(0) || initial->hard_state.term() > 0) {
    std::move(done)(absl::FailedPreconditionError(
        absl::StrCat("group ", group.value(),
                     " was hosted on this node before; group "
                     "and node ids are never reused on one disk")));
    return;
  }
  auto sm = options_.factory(group, spec.kind, db_->db());
  if (!sm.ok()) {
    std::move(done)(sm.status());
    return;
  }
  auto owned =
      std::make_unique<Replica>(group, spec.kind, *std::move(sm), &storage);
  Replica* g = owned.get();
  replicas_[group] = std::move(owned);

  raft::WriteRequest request;
  PutGroupRecord(request.extra, group, spec.kind);
  if (!spec.initial_voters.empty()) {
    // A founding member: the bootstrap snapshot at index 1 holds the initial
    // membership (raft/README.md, tests/sim BootstrapSnapshot).
    raft::GroupWrite write;
    write.group = group;
    sluice::internal::raft::SnapshotMetadata meta;
    meta.set_index(1);
    meta.set_term(1);
    for (raft::NodeId v : spec.initial_voters) {
      meta.mutable_conf_state()->add_voters(v.value());
    }
    write.snapshot = meta;
    sluice::internal::raft::HardState hs;
    hs.set_term(1);
    hs.set_commit(1);
    write.hard_state = hs;
    request.groups.push_back(std::move(write));
  }
  ++g->inflight_writes;
  Submit(std::move(request), [this, group, done = std::move(done)]() mutable {
    Replica* g = Find(group);
    SLUICE_CHECK(g != nullptr)
        << "group " << group.value() << " vanished while being created";
    --g->inflight_writes;
    absl::Status s = g->Start(BaseConfig(), SeedFor(group));
    if (!s.ok()) replicas_.erase(group);
    std::move(done)(std::move(s));
  });
}

void NodeHost::DoRemoveGroup(raft::GroupId group, StatusCallback done) {
  Replica* g = FindActive(group);
  if (g == nullptr) {
    std::move(done)(absl::NotFoundError(
        absl::StrCat("group ", group.value(), " is not hosted here")));
    return;
  }
  // The replica stops at once; its data goes once no write of it is in
  // flight (ProcessReadies).
  g->removing = true;
  std::vector<Resolved> answers;
  g->proposals().FailAll(absl::UnavailableError(absl::StrCat(
                             "group ", group.value(), " is leaving this node")),
                         &answers);
  RunAnswers(answers);
  removals_[group] = std::move(done);
  more_work_ = true;
}

void NodeHost::RunAnswers(std::vector<Resolved>& answers) {
  for (Resolved& r : answers) std::move(r).Run();
  answers.clear();
}

}  // namespace sluice::broker
