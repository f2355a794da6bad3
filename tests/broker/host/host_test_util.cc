#include "tests/broker/host/host_test_util.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/logging.h"
#include "gtest/gtest.h"
#include "raft/leveldb/mutex_lock.h"

namespace sluice::broker::testing {
namespace {

std::atomic<int64_t> next_log_time{1'800'000'000'000'000};

#ifdef SLUICE_LDB_TSAN
// Abseil's deadlock detector keeps a graph guarded by Abseil's own (not
// instrumented) lock, which TSan reports as races between any two threads
// taking any absl::Mutex. Lock order is checked in the non-TSan builds.
const bool kNoDeadlockGraph = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();
#endif

}  // namespace

bool PollUntil(const std::function<bool()>& pred, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!pred()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

void WriterGate::Close() {
  raft::ldb::MutexLock lock(&mu_);
  open_ = false;
}

void WriterGate::Open() {
  raft::ldb::MutexLock lock(&mu_);
  open_ = true;
  cv_.SignalAll();
}

void WriterGate::Pass() {
  raft::ldb::MutexLock lock(&mu_);
  while (!open_) raft::ldb::Wait(&cv_, &mu_);
}

HostCluster::HostCluster(int nodes,
                         std::function<void(NodeHost::Options&)> tweak)
    : tweak_(std::move(tweak)) {
  std::string tmpl = ::testing::TempDir() + "sluice-host-XXXXXX";
  SLUICE_CHECK(mkdtemp(tmpl.data()) != nullptr) << "mkdtemp " << tmpl;
  root_ = tmpl;
  for (int i = 0; i < nodes; ++i) {
    gates_.push_back(std::make_unique<WriterGate>());
    hosts_.emplace_back();
  }
  for (int id = 1; id <= nodes; ++id) Start(id);
}

HostCluster::~HostCluster() {
  for (auto& gate : gates_) gate->Open();
  for (auto& host : hosts_) host.reset();
  std::filesystem::remove_all(root_);
}

std::vector<int> HostCluster::live() const {
  std::vector<int> ids;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    if (hosts_[i] != nullptr) ids.push_back(static_cast<int>(i) + 1);
  }
  return ids;
}

NodeHost::Options HostCluster::OptionsFor(int id) {
  NodeHost::Options o;
  o.node_id = raft::NodeId(id);
  o.data_dir = absl::StrCat(root_, "/node", id);
  o.transport = network_.Endpoint(raft::NodeId(id));
  ManualClock* clock = &clock_;
  o.factory = [clock](raft::GroupId group, const std::string& kind,
                      leveldb::DB* db)
      -> absl::StatusOr<std::unique_ptr<ReplicaStateMachine>> {
    if (kind != kQueuePartitionKind) {
      return absl::InvalidArgumentError(absl::StrCat("kind ", kind));
    }
    auto p = QueuePartition::Open(group, db, clock);
    if (!p.ok()) return p.status();
    return std::unique_ptr<ReplicaStateMachine>(*std::move(p));
  };
  o.tick_interval = absl::Milliseconds(10);
  o.election_tick = 10;
  o.heartbeat_tick = 2;
  o.seed = 42;
  WriterGate* gate = gates_[id - 1].get();
  o.db.writer.before_batch = [gate] { gate->Pass(); };
  if (tweak_) tweak_(o);
  return o;
}

void HostCluster::Start(int id) {
  SLUICE_CHECK(hosts_[id - 1] == nullptr) << "node " << id << " is running";
  auto host = NodeHost::Open(OptionsFor(id));
  SLUICE_CHECK(host.ok()) << "node " << id << ": " << host.status();
  hosts_[id - 1] = *std::move(host);
}

void HostCluster::Stop(int id) { hosts_[id - 1].reset(); }

std::string HostCluster::data_dir(int id) const {
  return absl::StrCat(root_, "/node", id);
}

void HostCluster::CreateGroup(raft::GroupId group, int voters) {
  if (voters == 0) voters = static_cast<int>(hosts_.size());
  GroupSpec spec;
  spec.group = group;
  spec.kind = kQueuePartitionKind;
  for (int i = 1; i <= voters; ++i) {
    spec.initial_voters.push_back(raft::NodeId(i));
  }
  for (int id : live()) {
    GroupSpec mine = spec;
    if (id > voters) mine.initial_voters.clear();
    absl::Status s = host(id)->CreateGroup(mine);
    SLUICE_CHECK(s.ok()) << "node " << id << ": " << s;
  }
}

std::optional<int> HostCluster::WaitForLeader(raft::GroupId group,
                                              absl::Duration timeout) {
  std::optional<int> leader;
  PollUntil(
      [&] {
        std::set<uint64_t> seen;
        bool leader_live = false;
        for (int id : live()) {
          auto s = host(id)->StatusOf(group);
          if (!s.has_value()) return false;
          if (s->conf_state.voters_size() == 0) continue;  // not joined yet
          seen.insert(s->leader.value());
          if (s->role == raft::Role::kLeader) leader_live = true;
        }
        if (seen.size() != 1 || *seen.begin() == 0 || !leader_live) {
          return false;
        }
        leader = static_cast<int>(*seen.begin());
        return true;
      },
      timeout);
  return leader;
}

std::optional<raft::Index> HostCluster::WaitConverged(raft::GroupId group,
                                                      absl::Duration timeout) {
  std::optional<raft::Index> index;
  PollUntil(
      [&] {
        std::set<uint64_t> applied;
        for (int id : live()) {
          auto s = host(id)->StatusOf(group);
          if (!s.has_value() || s->applied != s->durable_applied ||
              s->applied != s->commit) {
            return false;
          }
          applied.insert(s->applied.value());
        }
        if (applied.size() != 1) return false;
        index = raft::Index(*applied.begin());
        return true;
      },
      timeout);
  return index;
}

std::vector<std::string> HostCluster::Digests(raft::GroupId group) {
  std::vector<std::string> digests;
  for (int id : live()) {
    absl::Status s = host(id)->WithStateMachine(
        group, [&](ReplicaStateMachine& sm, const GroupStatus& status) {
          auto d = static_cast<QueuePartition&>(sm).queue().Digest();
          digests.push_back(
              absl::StrCat("applied=", status.applied.value(),
                           " durable=", status.durable_applied.value(), " ",
                           d.ok() ? *d : d.status().ToString()));
        });
    if (!s.ok()) digests.push_back(s.ToString());
  }
  return digests;
}

absl::StatusOr<Applied> HostCluster::Propose(int id, raft::GroupId group,
                                             const internal::Command& command) {
  Latch done;
  absl::StatusOr<Applied> result;
  host(id)->Propose(group, command.SerializeAsString(),
                    [&](absl::StatusOr<Applied> r) {
                      result = std::move(r);
                      done.Notify();
                    });
  if (!done.WaitWithTimeout(absl::Seconds(30))) {
    ADD_FAILURE() << "proposal to node " << id << " never answered";
    // The callback still refers to locals: wait for it before returning.
    done.Wait();
  }
  return result;
}

absl::StatusOr<ApplyResult> HostCluster::Receive(int id, raft::GroupId group,
                                                 uint32_t max) {
  internal::Command command;
  absl::Status s = WithQueue(id, group, [&](QueueStateMachine& q) {
    ReceivePlan plan = q.PlanReceive({max, absl::Seconds(60)});
    *command.mutable_grant() = plan.grant;
  });
  if (!s.ok()) return s;
  command.set_log_time_micros(next_log_time.fetch_add(1000));
  absl::StatusOr<Applied> applied = Propose(id, group, command);
  if (!applied.ok()) return applied.status();
  const ApplyResult* r = QueueApplyResult(applied->result);
  if (r == nullptr) return absl::InternalError("no queue result");
  return *r;
}

absl::Status HostCluster::WithQueue(
    int id, raft::GroupId group,
    const std::function<void(QueueStateMachine&)>& fn) {
  return host(id)->WithStateMachine(
      group, [&](ReplicaStateMachine& sm, const GroupStatus&) {
        fn(static_cast<QueuePartition&>(sm).queue());
      });
}

internal::Command SendCommand(const std::string& body) {
  internal::Command c;
  c.set_log_time_micros(next_log_time.fetch_add(1000));
  c.mutable_send()->add_entries()->set_body(body);
  return c;
}

internal::Command DeleteCommand(const LeasedMessage& leased) {
  internal::Command c;
  c.set_log_time_micros(next_log_time.fetch_add(1000));
  internal::ReceiptRef* ref = c.mutable_delete_()->add_receipts();
  ref->set_sequence(leased.seq.value());
  ref->set_receive_count(leased.receive_count);
  return c;
}

}  // namespace sluice::broker::testing
