#include "tests/sim/simulator.h"

#include <algorithm>
#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/logging.h"

namespace sluice::sim {

using sluice::internal::raft::ConfChange;
using sluice::internal::raft::ConfState;
using sluice::internal::raft::Message;

namespace {

constexpr SimTime kMs = 1000;

const char* KindName(int kind) {
  static const char* kNames[] = {"tick",    "deliver", "fsync",    "propose",
                                 "nemesis", "restart", "keepalive"};
  return kNames[kind];
}

bool Contains(const google::protobuf::RepeatedField<uint64_t>& ids,
              uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

Simulator::Simulator(const SimOptions& options)
    : options_(options), random_(options.seed), network_(&random_) {
  ConfState initial;
  for (int id = 1; id <= options_.voters; ++id) initial.add_voters(id);
  for (int id = 1; id <= options_.voters + options_.spares; ++id) {
    nodes_[id] = std::make_unique<SimNode>(
        id, id <= options_.voters ? initial : ConfState(), options_.node);
  }
}

void Simulator::Schedule(SimTime at, EventKind kind, uint64_t node,
                         uint64_t epoch, Message message) {
  events_.push(Event{at, next_seq_++, kind, node, epoch, std::move(message)});
}

void Simulator::HashIn(uint64_t value) {
  for (int i = 0; i < 8; ++i) {
    result_.trace_hash ^= (value >> (8 * i)) & 0xFF;
    result_.trace_hash *= 0x100000001b3ull;
  }
}

void Simulator::Trace(const std::string& line) {
  for (char c : line) HashIn(static_cast<uint8_t>(c));
  if (options_.record_trace) {
    result_.trace.push_back(
        absl::StrCat(now_ / kMs, ".", (now_ % kMs) / 100, "ms ", line));
    if (options_.print_trace) {
      std::fprintf(stdout, "%s\n", result_.trace.back().c_str());
      std::fflush(stdout);
    }
  }
}

SimNode* Simulator::Node(uint64_t id) {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second.get();
}

SimNode* Simulator::Leader() {
  SimNode* best = nullptr;
  for (auto& [id, node] : nodes_) {
    if (!node->up() || node->raw()->raft().role() != raft::Role::kLeader) {
      continue;
    }
    if (best == nullptr ||
        node->raw()->raft().term() > best->raw()->raft().term()) {
      best = node.get();
    }
  }
  return best;
}

std::vector<uint64_t> Simulator::AllIds() const {
  std::vector<uint64_t> ids;
  for (const auto& [id, node] : nodes_) ids.push_back(id);
  return ids;
}

std::vector<uint64_t> Simulator::Members(const SimNode& node) const {
  const ConfState& cs = node.conf_state();
  std::vector<uint64_t> ids(cs.voters().begin(), cs.voters().end());
  for (uint64_t id : cs.voters_outgoing()) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void Simulator::StartNode(SimNode& node) {
  absl::Status s = node.Start(random_.Next());
  SLUICE_CHECK(s.ok()) << "seed " << options_.seed << ": " << s;
  Trace(absl::StrCat("start node ", node.id(), " epoch ", node.epoch()));
  // Nodes tick out of phase with each other, as real machines do.
  Schedule(now_ + random_.Range(1, options_.tick_interval), EventKind::kTick,
           node.id(), node.epoch());
}

void Simulator::CrashNode(SimNode& node) {
  if (!node.up()) return;
  node.Crash();
  ++result_.stats.crashes;
  Trace(absl::StrCat("crash node ", node.id()));
}

void Simulator::Send(const std::vector<Message>& messages) {
  for (const Message& original : messages) {
    if (Node(original.to()) == nullptr) continue;
    const Message* to_send = &original;
    Message with_data;
    if (original.type() == sluice::internal::raft::MESSAGE_TYPE_SNAPSHOT) {
      // The core names the snapshot; the transport streams its data from the
      // state machine (here: the sender's stored snapshot) and reports how it
      // went. The message still meets the network's faults on its way.
      SimNode* sender = Node(original.from());
      if (sender == nullptr || !sender->up()) continue;
      // The host may have compacted again since the core chose this
      // snapshot; it streams the newest one it holds, as a real host does.
      const auto& stored = sender->durable().snapshot();
      SLUICE_CHECK(stored.metadata().index() >=
                   original.snapshot().metadata().index())
          << "seed " << options_.seed << ": node " << sender->id()
          << " sends a snapshot newer than it holds";
      with_data = original;
      *with_data.mutable_snapshot() = stored;
      to_send = &with_data;
      sender->raw()->ReportSnapshot(
          raft::NodeId(original.to()),
          !network_.Blocked(original.from(), original.to()));
    }
    const Message& m = *to_send;
    if (SimNode* sender = Node(m.from()); sender != nullptr && sender->up()) {
      sender->liveness().Sent(raft::NodeId(m.to()));
    }
    for (SimTime delay : network_.PlanDelivery(m.from(), m.to())) {
      Schedule(now_ + delay, EventKind::kDeliver, m.to(), 0, m);
    }
  }
}

void Simulator::DrainReady(SimNode& node) {
  auto work = node.TakeReady();
  if (!work) return;
  Send(work->send_now);
  if (work->needs_fsync) {
    Schedule(now_ + random_.Range(100, 3 * kMs), EventKind::kFsyncDone,
             node.id(), node.epoch());
  } else {
    FinishWrite(node);
  }
}

void Simulator::FinishWrite(SimNode& node) {
  SimNode::PersistResult done = node.FinishWrite();
  checker_.ObservePersisted(node.id(), done.persisted_entries);
  if (done.snapshot_installed) {
    ++result_.stats.snapshots_installed;
    checker_.ObserveSnapshot(node.id(), done.snapshot_installed->index(),
                             done.snapshot_hash);
    Trace(absl::StrCat("node ", node.id(), " installed snapshot at ",
                       done.snapshot_installed->index()));
  }
  for (const auto& applied : done.applied) {
    checker_.ObserveApplied(node.id(), applied.entry, applied.hash_after);
    if (healed_ && !applied.entry.data().empty() &&
        applied.entry.data()[0] == 'h') {
      marker_ |= uint64_t{1} << node.id();
    }
  }
  Send(done.send_after);
  DrainReady(node);
}

void Simulator::QuiesceTick(SimNode& node) {
  raft::RawNode& raw = *node.raw();
  if (raw.raft().role() == raft::Role::kLeader && !raw.quiesced() &&
      raw.MaybeQuiesce()) {
    ++result_.stats.quiesces;
    Trace(absl::StrCat("node ", node.id(), " quiesces"));
  }
}

void Simulator::Heard(SimNode& node, uint64_t from) {
  if (!options_.quiesce) return;
  if (node.liveness().Heard(raft::NodeId(from))) {
    Trace(absl::StrCat("node ", node.id(), " hears node ", from, " again"));
    node.raw()->Unquiesce();
  }
}

void Simulator::TickLiveness(SimNode& node) {
  absl::flat_hash_set<raft::NodeId> members;
  for (const auto& [id, pr] : node.raw()->raft().tracker().progress()) {
    if (id.value() != node.id()) members.insert(id);
  }
  raft::PeerLiveness::TickResult r = node.liveness().Tick(members);
  for (raft::NodeId peer : r.went_down) {
    ++result_.stats.peers_down;
    Trace(absl::StrCat("node ", node.id(), " finds node ", peer.value(),
                       " silent"));
    node.raw()->Unquiesce();  // as NodeHost: woken, not hurried
  }
  for (raft::NodeId peer : r.need_keepalive) {
    if (Node(peer.value()) == nullptr) continue;
    Message keepalive;
    keepalive.set_from(node.id());
    for (SimTime delay : network_.PlanDelivery(node.id(), peer.value())) {
      Schedule(now_ + delay, EventKind::kKeepalive, peer.value(), 0, keepalive);
    }
  }
  DrainReady(node);
}

void Simulator::Propose() {
  SimNode* leader = Leader();
  if (leader == nullptr) return;
  std::string data = absl::StrCat(healed_ ? "h" : "p", ++proposal_counter_);
  if (leader->raw()->Propose(data).ok()) ++result_.stats.proposals;
  DrainReady(*leader);
}

void Simulator::ChangeMembership(SimNode& leader) {
  const ConfState& cs = leader.conf_state();
  if (cs.voters_outgoing_size() > 0) return;  // joint: wait for auto-leave
  ConfChange cc;
  std::vector<uint64_t> outsiders;
  for (uint64_t id : AllIds()) {
    if (!Contains(cs.voters(), id) && !Contains(cs.learners(), id)) {
      outsiders.push_back(id);
    }
  }
  auto bring_in = [&](uint64_t id) {
    SimNode* node = Node(id);
    if (node->epoch() == 0) {
      // A new machine joins with an empty disk.
      node->Wipe(ConfState());
      StartNode(*node);
    } else if (!node->up()) {
      // A removed member comes back with the disk it had. It must not come
      // back wiped under its old id: a wiped voter forgets its vote and its
      // log, and a stale leader that still counts it can lose committed
      // entries (raft/README.md, "Node ids are never reused").
      StartNode(*node);
    }
  };
  const uint64_t r = random_.Uniform(4);
  if (cs.learners_size() > 0) {
    auto* change = cc.add_changes();
    change->set_type(sluice::internal::raft::CONF_CHANGE_TYPE_ADD_VOTER);
    change->set_node_id(cs.learners(0));
  } else if (cs.voters_size() > options_.voters) {
    auto* change = cc.add_changes();
    change->set_type(sluice::internal::raft::CONF_CHANGE_TYPE_REMOVE);
    change->set_node_id(cs.voters(random_.Uniform(cs.voters_size())));
  } else if (!outsiders.empty() && r == 0) {
    // Replace a voter in one joint change (thesis §4.3).
    uint64_t in = outsiders[random_.Uniform(outsiders.size())];
    uint64_t out = cs.voters(random_.Uniform(cs.voters_size()));
    bring_in(in);
    auto* add = cc.add_changes();
    add->set_type(sluice::internal::raft::CONF_CHANGE_TYPE_ADD_VOTER);
    add->set_node_id(in);
    auto* remove = cc.add_changes();
    remove->set_type(sluice::internal::raft::CONF_CHANGE_TYPE_REMOVE);
    remove->set_node_id(out);
  } else if (!outsiders.empty()) {
    uint64_t in = outsiders[random_.Uniform(outsiders.size())];
    bring_in(in);
    auto* change = cc.add_changes();
    change->set_type(sluice::internal::raft::CONF_CHANGE_TYPE_ADD_LEARNER);
    change->set_node_id(in);
  } else {
    return;
  }
  absl::Status s = leader.raw()->ProposeConfChange(cc);
  Trace(absl::StrCat("node ", leader.id(), " proposes conf change ",
                     cc.ShortDebugString(), ": ",
                     s.ok() ? "ok" : s.ToString()));
  if (s.ok()) ++result_.stats.conf_changes;
  DrainReady(leader);
}

void Simulator::Nemesis() {
  std::vector<uint64_t> ids = AllIds();
  SimNode* leader = Leader();
  const uint64_t action = random_.Uniform(10);
  switch (action) {
    case 0: {
      uint64_t victim = ids[random_.Uniform(ids.size())];
      network_.Isolate(victim, ids);
      ++result_.stats.partitions;
      break;
    }
    case 1:
      if (leader != nullptr) {
        network_.Isolate(leader->id(), ids);
        ++result_.stats.partitions;
      }
      break;
    case 2: {
      std::vector<uint64_t> minority = ids;
      for (size_t i = minority.size() - 1; i > 0; --i) {
        std::swap(minority[i], minority[random_.Uniform(i + 1)]);
      }
      minority.resize(ids.size() / 2);
      network_.Split(minority, ids);
      ++result_.stats.partitions;
      break;
    }
    case 3: {
      uint64_t a = ids[random_.Uniform(ids.size())];
      uint64_t b = ids[random_.Uniform(ids.size())];
      if (a != b) network_.Block(a, b);  // one-way
      ++result_.stats.partitions;
      break;
    }
    case 4:
      network_.HealAll();
      break;
    case 5:
    case 6: {
      SimNode* victim = action == 6 && leader != nullptr
                            ? leader
                            : Node(ids[random_.Uniform(ids.size())]);
      if (victim->up()) {
        CrashNode(*victim);
        Schedule(now_ + random_.Range(50 * kMs, 2000 * kMs),
                 EventKind::kRestart, victim->id());
      }
      break;
    }
    case 7: {
      static constexpr double kDrop[] = {0, 0, 0.05, 0.2, 0.4};
      static constexpr double kDuplicate[] = {0, 0.05, 0.2};
      static constexpr SimTime kMaxDelay[] = {2 * kMs, 20 * kMs, 100 * kMs};
      LinkFaults faults;
      faults.drop_probability = kDrop[random_.Uniform(5)];
      faults.duplicate_probability = kDuplicate[random_.Uniform(3)];
      faults.min_delay = 200;
      faults.max_delay = kMaxDelay[random_.Uniform(3)];
      network_.set_faults(faults);
      break;
    }
    case 8:
      if (leader != nullptr) {
        std::vector<uint64_t> members = Members(*leader);
        uint64_t to = members[random_.Uniform(members.size())];
        absl::Status s = leader->raw()->TransferLeadership(raft::NodeId(to));
        if (s.ok()) ++result_.stats.transfers;
        DrainReady(*leader);
      }
      break;
    case 9:
      if (leader != nullptr && options_.membership_changes) {
        ChangeMembership(*leader);
      }
      break;
  }
  Trace(absl::StrCat("nemesis ", action, " -> ", network_.Describe()));
}

void Simulator::Heal() {
  healed_ = true;
  network_.HealAll();
  network_.set_faults(LinkFaults());
  for (auto& [id, node] : nodes_) {
    if (!node->up() && node->epoch() > 0) StartNode(*node);
  }
  Trace("heal");
}

bool Simulator::LivenessReached() {
  SimNode* leader = Leader();
  if (leader == nullptr) return false;
  for (uint64_t id : Members(*leader)) {
    if ((marker_ & (uint64_t{1} << id)) == 0) return false;
  }
  return true;
}

void Simulator::Handle(const Event& event) {
  SimNode* node = Node(event.node);
  switch (event.kind) {
    case EventKind::kTick:
      if (node->up() && node->epoch() == event.epoch) {
        if (options_.quiesce) QuiesceTick(*node);
        node->raw()->Tick();
        Schedule(now_ + options_.tick_interval, EventKind::kTick, node->id(),
                 node->epoch());
        DrainReady(*node);
        if (options_.quiesce) TickLiveness(*node);
      }
      break;
    case EventKind::kDeliver: {
      const Message& m = event.message;
      HashIn(m.type());
      HashIn(m.from());
      HashIn(m.term());
      HashIn(m.index());
      if (node->up() && !network_.Blocked(m.from(), m.to())) {
        ++result_.stats.messages_delivered;
        Heard(*node, m.from());
        (void)node->raw()->Step(m);  // stale or foreign messages are refused
        DrainReady(*node);
      }
      break;
    }
    case EventKind::kKeepalive:
      HashIn(event.message.from());
      if (node->up() && !network_.Blocked(event.message.from(), node->id())) {
        Heard(*node, event.message.from());
        DrainReady(*node);
      }
      break;
    case EventKind::kFsyncDone:
      if (node->up() && node->epoch() == event.epoch &&
          node->HasPendingWrite()) {
        FinishWrite(*node);
      }
      break;
    case EventKind::kPropose: {
      Propose();
      // With quiescence, now and then a pause long enough to go quiet.
      const bool pause = options_.quiesce && random_.Uniform(10) == 0;
      Schedule(now_ + (pause ? random_.Range(300 * kMs, 1500 * kMs)
                             : random_.Range(5 * kMs, 40 * kMs)),
               EventKind::kPropose);
      break;
    }
    case EventKind::kNemesis:
      if (!healed_) {
        Nemesis();
        Schedule(now_ + random_.Range(100 * kMs, 1000 * kMs),
                 EventKind::kNemesis);
      }
      break;
    case EventKind::kRestart:
      if (!node->up()) StartNode(*node);
      break;
  }
}

void Simulator::CheckInvariants(const Event& event) {
  std::vector<const SimNode*> running;
  for (auto& [id, node] : nodes_) {
    if (!node->up()) continue;
    checker_.ObserveNode(*node);
    running.push_back(node.get());
  }
  if (result_.stats.events % 256 == 0 || event.kind == EventKind::kRestart) {
    checker_.CheckLogsMatch(running);
  }
}

SimResult Simulator::Run() {
  SimStateMachine bootstrap;
  bootstrap.Restore(SimNode::BootstrapSnapshot(ConfState()).data());
  checker_.Bootstrap(SimNode::kBootstrapIndex, bootstrap.hash);
  for (int id = 1; id <= options_.voters; ++id) StartNode(*Node(id));
  Schedule(5 * kMs, EventKind::kPropose);
  Schedule(random_.Range(200 * kMs, 800 * kMs), EventKind::kNemesis);

  const SimTime give_up = options_.fault_phase + options_.liveness_deadline;
  while (!events_.empty()) {
    Event event = events_.top();
    events_.pop();
    if (!healed_ && event.time >= options_.fault_phase) {
      now_ = options_.fault_phase;
      Heal();
    }
    if (event.time > give_up) break;
    now_ = event.time;
    ++result_.stats.events;
    HashIn(static_cast<uint64_t>(now_));
    HashIn(static_cast<uint64_t>(event.kind) * 131 + event.node);
    if (options_.record_trace) {
      Trace(absl::StrCat(
          KindName(static_cast<int>(event.kind)), " node ", event.node,
          event.kind == EventKind::kDeliver
              ? absl::StrCat(" ", event.message.ShortDebugString())
              : std::string()));
    }
    Handle(event);
    CheckInvariants(event);
    if (!checker_.ok()) {
      result_.ok = false;
      result_.failure =
          absl::StrCat("at ", now_ / kMs, " ms: ", checker_.violation());
      break;
    }
    if (healed_ && LivenessReached()) break;
  }
  if (result_.ok) {
    std::vector<const SimNode*> running;
    for (auto& [id, node] : nodes_) {
      if (node->up()) running.push_back(node.get());
    }
    checker_.CheckLogsMatch(running);
    if (!checker_.ok()) {
      result_.ok = false;
      result_.failure = checker_.violation();
    } else if (!LivenessReached()) {
      result_.ok = false;
      SimNode* leader = Leader();
      result_.failure = absl::StrCat(
          "Liveness: ", options_.liveness_deadline / kMs, " ms after healing, ",
          leader == nullptr
              ? std::string("no leader")
              : absl::StrCat("leader ", leader->id(), " (term ",
                             leader->raw()->raft().term().value(),
                             ") has not got a fresh entry applied by all of ",
                             absl::StrJoin(Members(*leader), ",")));
    }
  }
  result_.stats.committed = checker_.max_committed();
  result_.stats.leaders = checker_.leaders_elected();
  return result_;
}

}  // namespace sluice::sim
