#include "tests/sim/sim_node.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/logging.h"

namespace sluice::sim {

using sluice::internal::raft::ConfChange;
using sluice::internal::raft::ENTRY_TYPE_CONF_CHANGE;

namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  // 64-bit FNV-1a over the 8 bytes of v.
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xFF;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

void SimStateMachine::Apply(const sluice::internal::raft::Entry& entry) {
  uint64_t h = Mix(hash ^ 0xcbf29ce484222325ull, entry.index());
  h = Mix(h, entry.term());
  h = Mix(h, entry.type());
  for (char c : entry.data()) h = Mix(h, static_cast<uint8_t>(c));
  hash = h;
  applied_index = entry.index();
}

std::string SimStateMachine::Serialize() const {
  return absl::StrCat(applied_index, ":", hash);
}

bool SimStateMachine::Restore(const std::string& data) {
  size_t colon = data.find(':');
  if (colon == std::string::npos) return false;
  applied_index = std::stoull(data.substr(0, colon));
  hash = std::stoull(data.substr(colon + 1));
  return true;
}

SimNode::SimNode(uint64_t id, ConfState initial, const SimNodeOptions& options)
    : id_(id), options_(options) {
  Wipe(std::move(initial));
}

raft::MemoryStorage::Snapshot SimNode::BootstrapSnapshot(ConfState members) {
  raft::MemoryStorage::Snapshot snapshot;
  snapshot.mutable_metadata()->set_index(kBootstrapIndex);
  snapshot.mutable_metadata()->set_term(kBootstrapIndex);
  *snapshot.mutable_metadata()->mutable_conf_state() = std::move(members);
  SimStateMachine empty;
  empty.applied_index = kBootstrapIndex;
  snapshot.set_data(empty.Serialize());
  return snapshot;
}

absl::Status SimNode::Start(uint64_t seed) {
  SLUICE_CHECK(!up()) << "node " << id_ << " started twice";
  ++epoch_;
  random_ = std::make_unique<Random>(seed);
  liveness_ = std::make_unique<raft::PeerLiveness>(
      raft::kSilentElectionTimeouts * options_.election_tick);
  // The state machine is rebuilt from the latest snapshot, then the core
  // hands back every committed entry after it.
  sm_ = SimStateMachine();
  const auto& snapshot = durable_->snapshot();
  if (snapshot.metadata().index() > 0 && !sm_.Restore(snapshot.data())) {
    return absl::DataLossError(
        absl::StrCat("node ", id_, ": unreadable snapshot"));
  }
  conf_state_ = snapshot.metadata().index() > 0
                    ? snapshot.metadata().conf_state()
                    : durable_->GetInitialState()->conf_state;

  raft::Config config;
  config.id = raft::NodeId(id_);
  config.group = raft::GroupId(1);
  config.election_tick = options_.election_tick;
  config.heartbeat_tick = options_.heartbeat_tick;
  config.random = random_.get();
  config.max_size_per_msg = options_.max_size_per_msg;
  config.max_inflight_msgs = options_.max_inflight_msgs;
  config.applied = raft::Index(sm_.applied_index);
  auto node = raft::RawNode::Create(config, durable_.get());
  if (!node.ok()) return node.status();
  node_ = std::move(*node);
  return absl::OkStatus();
}

void SimNode::Crash() {
  node_.reset();
  pending_.reset();
}

void SimNode::Wipe(ConfState initial) {
  Crash();
  durable_ = std::make_unique<raft::MemoryStorage>();
  if (initial.voters_size() > 0) {
    // A founding member: the group starts from a snapshot at index 1 that
    // holds the initial membership (see raft/README.md, "Bootstrap"). A node
    // added later starts empty and gets a snapshot from the leader.
    absl::Status s = durable_->ApplySnapshot(BootstrapSnapshot(initial));
    SLUICE_CHECK(s.ok()) << s;
    sluice::internal::raft::HardState hs;
    hs.set_term(kBootstrapIndex);
    hs.set_commit(kBootstrapIndex);
    durable_->SetHardState(hs);
  }
  conf_state_ = std::move(initial);
  sm_ = SimStateMachine();
}

std::optional<SimNode::ReadyWork> SimNode::TakeReady() {
  if (!up() || pending_.has_value() || !node_->HasReady()) return std::nullopt;
  ReadyWork work;
  raft::Ready rd = node_->GetReady();
  work.send_now = std::move(rd.messages);
  rd.messages.clear();
  work.needs_fsync = rd.must_sync || rd.hard_state.has_value() ||
                     !rd.entries.empty() || rd.snapshot.has_value();
  pending_ = std::move(rd);
  return work;
}

SimNode::PersistResult SimNode::FinishWrite() {
  SLUICE_CHECK(pending_.has_value()) << "node " << id_ << ": no write pending";
  raft::Ready rd = std::move(*pending_);
  pending_.reset();
  PersistResult result;

  if (rd.snapshot.has_value()) {
    absl::Status s = durable_->ApplySnapshot(*rd.snapshot);
    SLUICE_CHECK(s.ok()) << "node " << id_ << ": " << s;
    SLUICE_CHECK(sm_.Restore(rd.snapshot->data()))
        << "node " << id_ << ": bad snapshot data at index "
        << rd.snapshot->metadata().ShortDebugString()
        << " data=" << rd.snapshot->data();
    conf_state_ = rd.snapshot->metadata().conf_state();
    result.snapshot_installed = rd.snapshot->metadata();
    result.snapshot_hash = sm_.hash;
  }
  if (!rd.entries.empty()) {
    absl::Status s = durable_->Append(rd.entries);
    SLUICE_CHECK(s.ok()) << "node " << id_ << ": " << s;
    result.persisted_entries = rd.entries;
  }
  if (rd.hard_state.has_value()) durable_->SetHardState(*rd.hard_state);

  result.send_after = std::move(rd.messages_after_persist);
  for (const Entry& entry : rd.committed_entries) {
    ApplyEntry(entry, &result);
  }
  node_->Advance();
  MaybeCompact(&result);
  return result;
}

void SimNode::ApplyEntry(const Entry& entry, PersistResult* result) {
  if (entry.index() <= sm_.applied_index) return;  // covered by a snapshot
  SLUICE_CHECK(entry.index() == sm_.applied_index + 1)
      << "node " << id_ << " applies index " << entry.index() << " after "
      << sm_.applied_index;
  sm_.Apply(entry);
  if (entry.type() == ENTRY_TYPE_CONF_CHANGE) {
    ConfChange cc;
    SLUICE_CHECK(cc.ParseFromString(entry.data()))
        << "node " << id_ << ": bad conf change at " << entry.index();
    auto cs = node_->ApplyConfChange(cc);
    SLUICE_CHECK(cs.ok()) << "node " << id_ << " index " << entry.index()
                          << ": " << cs.status();
    conf_state_ = *cs;
  }
  result->applied.push_back({entry, sm_.hash});
}

void SimNode::MaybeCompact(PersistResult* result) {
  const uint64_t first = durable_->FirstIndex().value();
  const uint64_t applied = sm_.applied_index;
  if (applied < first || applied - first < options_.compact_after) return;
  // Snapshot at the applied index, keep a few entries behind it so that
  // slightly lagging followers still catch up from the log.
  absl::Status s = durable_->CreateSnapshot(raft::Index(applied), conf_state_,
                                            sm_.Serialize());
  if (!s.ok()) return;  // applied beyond the durable log: try later
  durable_->SetConfState(conf_state_);
  const uint64_t keep = options_.compact_after / 4;
  s = durable_->Compact(raft::Index(applied - keep));
  result->compacted = s.ok();
}

}  // namespace sluice::sim
