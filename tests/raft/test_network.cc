#include "tests/raft/test_network.h"

#include <set>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace sluice::raft::testing {

ConfState Voters(std::vector<uint64_t> voters, std::vector<uint64_t> learners) {
  ConfState cs;
  for (uint64_t v : voters) cs.add_voters(v);
  for (uint64_t l : learners) cs.add_learners(l);
  return cs;
}

Config TestConfig(NodeId id, bool pre_vote, bool check_quorum) {
  Config c;
  c.id = id;
  c.group = kGroup;
  c.election_tick = 10;
  c.heartbeat_tick = 1;
  c.pre_vote = pre_vote;
  c.check_quorum = check_quorum;
  c.max_size_per_msg = 1 << 20;
  c.max_inflight_msgs = 256;
  return c;
}

TestNetwork::TestNetwork(int n, std::function<void(Config&)> tweak)
    : tweak_(std::move(tweak)) {
  std::vector<uint64_t> ids;
  for (int i = 1; i <= n; ++i) ids.push_back(i);
  for (uint64_t id : ids) AddNode(NodeId(id), Voters(ids));
}

TestNode& TestNetwork::AddNode(NodeId id, const ConfState& cs) {
  auto tn = std::make_unique<TestNode>();
  tn->id = id;
  tn->config = TestConfig(id);
  if (tweak_) tweak_(tn->config);
  tn->random = std::make_unique<Random>(id.value() * 7919);
  tn->config.random = tn->random.get();
  tn->storage = std::make_unique<MemoryStorage>(cs);
  auto node = RawNode::Create(tn->config, tn->storage.get());
  EXPECT_TRUE(node.ok()) << node.status();
  tn->node = std::move(*node);
  TestNode& ref = *tn;
  nodes_[id] = std::move(tn);
  return ref;
}

void TestNetwork::Restart(NodeId id) {
  TestNode& tn = at(id);
  tn.config.applied = tn.applied_index;
  auto node = RawNode::Create(tn.config, tn.storage.get());
  ASSERT_TRUE(node.ok()) << node.status();
  tn.node = std::move(*node);
  // Drop whatever was in flight to or from the old incarnation.
  std::erase_if(queue_, [&](const Message& m) { return NodeId(m.to()) == id; });
}

bool TestNetwork::ProcessReady(NodeId id) {
  TestNode& tn = at(id);
  if (!tn.node->HasReady()) return false;
  Ready rd = tn.node->GetReady();
  for (Message& m : rd.messages) queue_.push_back(std::move(m));
  if (rd.snapshot) {
    EXPECT_TRUE(tn.storage->ApplySnapshot(*rd.snapshot).ok());
    tn.applied_index = Index(rd.snapshot->metadata().index());
    // The state machine is replaced by the snapshot's ("a;b;" encoding).
    tn.applied = absl::StrSplit(rd.snapshot->data(), ';', absl::SkipEmpty());
  }
  EXPECT_TRUE(tn.storage->Append(rd.entries).ok());
  if (rd.hard_state) tn.storage->SetHardState(*rd.hard_state);
  for (Message& m : rd.messages_after_persist) queue_.push_back(std::move(m));
  for (const Entry& e : rd.committed_entries) {
    tn.applied_entries.push_back(e);
    tn.applied_index = Index(e.index());
    if (e.type() == sluice::internal::raft::ENTRY_TYPE_CONF_CHANGE) {
      ConfChange cc;
      EXPECT_TRUE(cc.ParseFromString(e.data()));
      auto cs = tn.node->ApplyConfChange(cc);
      EXPECT_TRUE(cs.ok()) << cs.status();
      if (cs.ok()) tn.storage->SetConfState(*cs);
    } else if (!e.data().empty()) {
      tn.applied.push_back(e.data());
    }
  }
  for (ReadState& rs : rd.read_states) tn.read_states.push_back(rs);
  tn.node->Advance();
  return true;
}

void TestNetwork::SnapshotAndCompact(uint64_t id) {
  TestNode& tn = at(id);
  auto initial = tn.storage->GetInitialState();
  ASSERT_TRUE(initial.ok());
  std::string data;
  for (const std::string& a : tn.applied) data += a + ";";
  ASSERT_TRUE(
      tn.storage->CreateSnapshot(tn.applied_index, initial->conf_state, data)
          .ok());
  ASSERT_TRUE(tn.storage->Compact(tn.applied_index).ok());
}

void TestNetwork::ProcessAllReadies() {
  for (auto& [id, tn] : nodes_) ProcessReady(id);
}

bool TestNetwork::Dropped(const Message& m) const {
  NodeId from(m.from()), to(m.to());
  if (isolated_.contains(from) || isolated_.contains(to)) return true;
  if (cut_.contains({from, to})) return true;
  if (!nodes_.contains(to)) return true;
  return drop_ && drop_(m);
}

void TestNetwork::Deliver(const Message& m) {
  const bool snapshot =
      m.type() == sluice::internal::raft::MESSAGE_TYPE_SNAPSHOT;
  TestNode* sender =
      nodes_.contains(NodeId(m.from())) ? &at(NodeId(m.from())) : nullptr;
  if (Dropped(m)) {
    // The transport tells the sender it gave up on the snapshot.
    if (snapshot && sender != nullptr && report_snapshots_ &&
        !isolated_.contains(sender->id)) {
      sender->node->ReportSnapshot(NodeId(m.to()), false);
    }
    return;
  }
  Message copy = m;
  if (snapshot && sender != nullptr && copy.snapshot().data().empty() &&
      sender->storage->snapshot().metadata().index() ==
          copy.snapshot().metadata().index()) {
    // Like the real transport: stream the state machine's data along.
    copy.mutable_snapshot()->set_data(sender->storage->snapshot().data());
  }
  absl::Status s = at(NodeId(m.to())).node->Step(copy);
  EXPECT_TRUE(s.ok()) << s;
  if (snapshot && sender != nullptr && report_snapshots_) {
    sender->node->ReportSnapshot(NodeId(m.to()), true);
  }
}

void TestNetwork::DeliverQueued() {
  std::deque<Message> batch;
  batch.swap(queue_);
  for (const Message& m : batch) Deliver(m);
}

void TestNetwork::Stabilize() {
  for (int round = 0; round < 10000; ++round) {
    bool moved = false;
    for (auto& [id, tn] : nodes_) moved |= ProcessReady(id);
    if (!queue_.empty()) {
      moved = true;
      DeliverQueued();
    }
    if (!moved) return;
  }
  ADD_FAILURE() << "network did not stabilize";
}

void TestNetwork::Tick(uint64_t id, int n) {
  for (int i = 0; i < n; ++i) node(id).Tick();
}

void TestNetwork::TickAll(int n) {
  for (int i = 0; i < n; ++i) {
    for (auto& [id, tn] : nodes_) tn->node->Tick();
  }
}

bool TestNetwork::Elect(uint64_t id) {
  node(id).Campaign();
  Stabilize();
  return raft(id).role() == Role::kLeader;
}

absl::Status TestNetwork::Propose(uint64_t id, std::string data) {
  return node(id).Propose(std::move(data));
}

NodeId TestNetwork::Leader() {
  for (auto& [id, tn] : nodes_) {
    if (isolated_.contains(id)) continue;
    if (tn->node->raft().role() == Role::kLeader) return id;
  }
  return kNoNode;
}

std::vector<Message> TestNetwork::Take(
    std::function<bool(const Message&)> pred) {
  std::vector<Message> out;
  std::deque<Message> rest;
  for (Message& m : queue_) {
    if (pred(m)) {
      out.push_back(std::move(m));
    } else {
      rest.push_back(std::move(m));
    }
  }
  queue_.swap(rest);
  return out;
}

std::function<bool(const Message&)> OfType(MessageType type) {
  return [type](const Message& m) { return m.type() == type; };
}

std::function<bool(const Message&)> OfType(MessageType type, uint64_t to) {
  return
      [type, to](const Message& m) { return m.type() == type && m.to() == to; };
}

}  // namespace sluice::raft::testing
