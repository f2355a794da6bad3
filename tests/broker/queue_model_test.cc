// Model-based property test (issue 4, point 10) and determinism (point 1).
//
// Random command sequences run against the state machine (the "leader", over
// a real LevelDB) and against Model, a deliberately simple reference written
// here from the rules alone: a std::map of messages scanned in full for
// every question. Every observable result must match: send results, receive
// results (exactly for standard queues; for FIFO, checked against the FIFO
// rules, since which ready group comes first is the picker's choice), status
// codes of deletes / visibility changes / nacks, peeks and counts. A second
// replica with another monotonic clock applies the same commands; its
// digest must equal the leader's, also across restarts.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/random.h"
#include "gtest/gtest.h"
#include "tests/broker/queue_test_util.h"

namespace sluice::broker {
namespace {

using testing::QueueHarness;

enum class S { kVisible, kDelayed, kLeased, kOutbox };

struct ModelMessage {
  std::string group;
  uint32_t rc = 0;
  S state = S::kVisible;
  int64_t visible_at = 0;  // model time, micros; kDelayed and kLeased
};

struct Config {
  bool fifo = false;
  uint32_t max_receives = 0;  // 0: no redrive policy
  int64_t backoff_initial = 0;
  int64_t backoff_max = 0;
};

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kDefaultTimeout = 30 * kSecond;
constexpr int64_t kDedupWindow = 300 * kSecond;

// The reference: obvious code, no indexes.
class Model {
 public:
  explicit Model(Config config) : config_(config) {}

  int64_t now = 0;
  std::map<uint64_t, ModelMessage> messages;

  void StartCommand() {
    for (auto it = dedup_.begin(); it != dedup_.end();) {
      it = it->second.second <= now - kDedupWindow ? dedup_.erase(it)
                                                   : std::next(it);
    }
  }

  bool Receivable(const ModelMessage& m) const {
    return m.state == S::kVisible ||
           ((m.state == S::kDelayed || m.state == S::kLeased) &&
            m.visible_at <= now);
  }

  int64_t Backoff(uint32_t rc) const {
    if (config_.backoff_initial == 0 || rc == 0) return 0;
    int64_t d = config_.backoff_initial;
    for (uint32_t i = 1; i < rc && d < config_.backoff_max; ++i) d *= 2;
    return std::min(d, config_.backoff_max);
  }

  // One send entry; `producer` empty for none.
  SendResult Send(const std::string& body, const std::string& group,
                  const std::string& dedup, int64_t delay) {
    if (body.empty()) {
      return {absl::InvalidArgumentError("body"), MessageSeq(0), false};
    }
    if (config_.fifo) {
      auto it = dedup_.find({group, dedup});
      if (it != dedup_.end()) {
        return {absl::OkStatus(), MessageSeq(it->second.first), true};
      }
    }
    const uint64_t seq = next_seq_++;
    ModelMessage m;
    m.group = group;
    if (delay > 0) {
      m.state = S::kDelayed;
      m.visible_at = now + delay;
    }
    messages[seq] = m;
    if (config_.fifo) dedup_[{group, dedup}] = {seq, now};
    return {absl::OkStatus(), MessageSeq(seq), false};
  }

  struct Producer {
    uint64_t last = 0;
    std::vector<std::pair<uint64_t, uint64_t>> last_batch;  // (ps, seq)
  };
  std::map<std::string, Producer> producers;

  absl::StatusCode Delete(uint64_t seq, uint32_t rc) {
    auto it = messages.find(seq);
    if (it == messages.end()) return absl::StatusCode::kOk;
    if (it->second.rc != rc || it->second.state == S::kOutbox) {
      return absl::StatusCode::kFailedPrecondition;
    }
    messages.erase(it);
    return absl::StatusCode::kOk;
  }

  // ChangeVisibility (nack = false) or Nack (delay < 0: backoff).
  absl::StatusCode Relet(uint64_t seq, uint32_t rc, int64_t d, bool nack) {
    auto it = messages.find(seq);
    if (it == messages.end() || it->second.rc != rc ||
        it->second.state != S::kLeased) {
      return absl::StatusCode::kFailedPrecondition;
    }
    if (nack && d < 0) d = Backoff(rc);
    if (d == 0) {
      it->second.state = S::kVisible;
    } else {
      it->second.visible_at = now + d;
    }
    return absl::StatusCode::kOk;
  }

  void Grant(uint64_t seq, int64_t timeout) {
    ModelMessage& m = messages.at(seq);
    ++m.rc;
    m.state = S::kLeased;
    m.visible_at = now + timeout + Backoff(m.rc);
  }

  bool ToDeadLetter(const ModelMessage& m) const {
    return config_.max_receives != 0 && m.rc >= config_.max_receives;
  }

  // Standard: exactly what a receive returns (and moves to the DLQ).
  std::vector<uint64_t> StandardPick(uint32_t max,
                                     std::vector<uint64_t>* moved) const {
    std::vector<uint64_t> out;
    for (const auto& [seq, m] : messages) {
      if (m.state == S::kOutbox || !Receivable(m)) continue;
      if (out.size() >= max) break;
      if (ToDeadLetter(m)) {
        moved->push_back(seq);
      } else {
        out.push_back(seq);
      }
    }
    return out;
  }

  // FIFO helpers.
  std::vector<uint64_t> GroupMessages(const std::string& g) const {
    std::vector<uint64_t> out;
    for (const auto& [seq, m] : messages) {
      if (m.group == g && m.state != S::kOutbox) out.push_back(seq);
    }
    return out;
  }
  bool Blocked(const std::string& g) const {
    for (const auto& [seq, m] : messages) {
      if (m.group == g && m.state == S::kLeased && m.visible_at > now) {
        return true;
      }
    }
    return false;
  }
  bool Available(const std::string& g) const {
    auto msgs = GroupMessages(g);
    return !msgs.empty() && !Blocked(g) && Receivable(messages.at(msgs[0]));
  }
  std::set<std::string> Groups() const {
    std::set<std::string> out;
    for (const auto& [seq, m] : messages) {
      if (m.state != S::kOutbox) out.insert(m.group);
    }
    return out;
  }

  QueueStats Stats() const {
    QueueStats s;
    for (const auto& [seq, m] : messages) {
      if (m.state == S::kOutbox) {
        ++s.outbox;
      } else if (Receivable(m)) {
        ++s.visible;
      } else if (m.state == S::kDelayed) {
        ++s.delayed;
      } else {
        ++s.in_flight;
      }
    }
    return s;
  }

  void Purge() { messages.clear(); }

 private:
  Config config_;
  uint64_t next_seq_ = 1;
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, int64_t>>
      dedup_;
};

internal::QueueAttributes Attributes(const Config& c) {
  internal::QueueAttributes a;
  a.set_fifo(c.fifo);
  a.set_name("model");
  if (c.max_receives != 0) {
    a.mutable_redrive_policy()->set_dead_letter_target("dlq");
    a.mutable_redrive_policy()->set_max_receive_count(c.max_receives);
  }
  if (c.backoff_initial != 0) {
    a.mutable_retry_backoff()->set_initial_micros(c.backoff_initial);
    a.mutable_retry_backoff()->set_max_micros(c.backoff_max);
  }
  return a;
}

class ModelRun {
 public:
  ModelRun(Config config, uint64_t seed)
      : config_(config),
        rng_(seed),
        leader_(Attributes(config)),
        follower_(Attributes(config)),
        model_(config) {
    follower_.clock().Advance(absl::Hours(1000));
    leader_.set_sync(false);
    follower_.set_sync(false);
  }

  void Run(int steps) {
    for (step_ = 0; step_ < steps && !::testing::Test::HasFailure(); ++step_) {
      const uint64_t op = rng_.Uniform(100);
      if (op < 30) {
        Send();
      } else if (op < 50) {
        Receive();
      } else if (op < 60) {
        DeleteOrRelet(0);
      } else if (op < 67) {
        DeleteOrRelet(1);
      } else if (op < 74) {
        DeleteOrRelet(2);
      } else if (op < 88) {
        Advance();
      } else if (op < 92) {
        CompareViews();
      } else if (op < 95) {
        Restart();
      } else if (op < 98) {
        FinishMoves();
      } else if (op < 99 && rng_.Bernoulli(0.3)) {
        internal::Command c;
        c.mutable_purge();
        Apply(c);
        model_.Purge();
      }
    }
    CompareViews();
    EXPECT_EQ(*leader_.sm().Digest(), *follower_.sm().Digest());
  }

 private:
  std::string Where() const { return " at step " + std::to_string(step_); }

  // Applies on both replicas (the model's clock is in step).
  ApplyResult Apply(const internal::Command& c) {
    model_.StartCommand();
    ApplyResult r = leader_.Apply(c);
    ApplyResult f = follower_.Apply(c);
    EXPECT_EQ(r.status.code(), f.status.code()) << Where();
    return r;
  }

  void Send() {
    internal::Command c;
    internal::SendBatch* batch = c.mutable_send();
    const bool idempotent = rng_.Bernoulli(0.4);
    std::string producer;
    if (idempotent) {
      producer = "p" + std::to_string(rng_.Uniform(2));
      batch->set_producer_id(producer);
      uint64_t& last = producer_next_[producer];
      // Sometimes a retry of the previous batch's first sequence.
      if (last > 0 && rng_.Bernoulli(0.3)) {
        batch->set_first_producer_sequence(last_first_[producer]);
      } else {
        batch->set_first_producer_sequence(last + 1);
        last_first_[producer] = last + 1;
      }
    }
    const int n = 1 + static_cast<int>(rng_.Uniform(3));
    for (int i = 0; i < n; ++i) {
      internal::SendEntry* e = batch->add_entries();
      e->set_body(
          rng_.Bernoulli(0.05) ? "" : "b" + std::to_string(rng_.Next() % 1000));
      if (config_.fifo) {
        e->set_group_id("g" + std::to_string(rng_.Uniform(4)));
        e->set_dedup_id("d" + std::to_string(rng_.Uniform(12)));
      } else if (rng_.Bernoulli(0.2)) {
        e->set_delay_micros(static_cast<int64_t>(rng_.Uniform(60)) * kSecond);
      }
    }
    if (idempotent) {
      producer_next_[producer] = std::max<uint64_t>(
          producer_next_[producer], batch->first_producer_sequence() + n - 1);
    }
    ApplyResult r = Apply(c);
    ASSERT_EQ(r.sends.size(), static_cast<size_t>(n));
    // The model, entry by entry.
    Model::Producer* p = idempotent ? &model_.producers[producer] : nullptr;
    std::vector<std::pair<uint64_t, uint64_t>> applied;
    for (int i = 0; i < n; ++i) {
      const internal::SendEntry& e = batch->entries(i);
      SendResult want;
      const uint64_t ps = batch->first_producer_sequence() + i;
      if (p != nullptr && ps <= p->last) {
        want = {absl::OkStatus(), MessageSeq(0), true};
        for (const auto& [s, seq] : p->last_batch) {
          if (s != ps) continue;
          want.seq = MessageSeq(seq);
          if (seq == 0) want.status = absl::InvalidArgumentError("");
        }
      } else {
        want = model_.Send(e.body(), e.group_id(), e.dedup_id(),
                           e.has_delay_micros() ? e.delay_micros() : 0);
        if (p != nullptr) {
          applied.emplace_back(ps, want.status.ok() ? want.seq.value() : 0);
        }
      }
      const SendResult& got = r.sends[i];
      EXPECT_EQ(got.status.code(), want.status.code()) << Where();
      EXPECT_EQ(got.seq, want.seq) << Where();
      EXPECT_EQ(got.duplicate, want.duplicate) << Where();
    }
    if (p != nullptr && !applied.empty()) {
      p->last = applied.back().first;
      p->last_batch = applied;
    }
  }

  void Receive() {
    const uint32_t max = 1 + static_cast<uint32_t>(rng_.Uniform(4));
    std::optional<absl::Duration> timeout;
    const uint64_t t = rng_.Uniform(4);
    if (t == 0) timeout = absl::ZeroDuration();
    if (t == 1) timeout = absl::Seconds(5);
    if (t == 2) timeout = absl::Seconds(45);
    const int64_t timeout_us = timeout.has_value()
                                   ? absl::ToInt64Microseconds(*timeout)
                                   : kDefaultTimeout;
    ReceivePlan plan = leader_.sm().PlanReceive({max, timeout});
    std::vector<uint64_t> moved, granted;
    for (const auto& m : plan.dead_letter.messages()) {
      moved.push_back(m.sequence());
    }
    for (const auto& g : plan.grant.grants()) granted.push_back(g.sequence());
    if (config_.fifo) {
      CheckFifoPick(max, moved, granted);
    } else {
      std::vector<uint64_t> want_moved;
      std::vector<uint64_t> want = model_.StandardPick(max, &want_moved);
      EXPECT_EQ(granted, want) << Where();
      EXPECT_EQ(moved, want_moved) << Where();
    }
    if (::testing::Test::HasFailure()) return;
    if (!moved.empty()) {
      internal::Command c;
      *c.mutable_move_to_dead_letter() = plan.dead_letter;
      ApplyResult r = Apply(c);
      for (const auto& s : r.entries) EXPECT_TRUE(s.ok()) << s << Where();
      for (uint64_t seq : moved) model_.messages.at(seq).state = S::kOutbox;
    }
    if (!granted.empty()) {
      internal::Command c;
      *c.mutable_grant() = plan.grant;
      ApplyResult r = Apply(c);
      ASSERT_EQ(r.leased.size(), granted.size()) << Where();
      for (size_t i = 0; i < granted.size(); ++i) {
        model_.Grant(granted[i], timeout_us);
        EXPECT_EQ(r.leased[i].seq, MessageSeq(granted[i])) << Where();
        EXPECT_EQ(r.leased[i].receive_count, model_.messages.at(granted[i]).rc)
            << Where();
        handles_.push_back({granted[i], r.leased[i].receive_count});
      }
    }
  }

  // FIFO: the picker chooses the order of ready groups, so check its choice
  // against the rules instead of predicting it.
  void CheckFifoPick(uint32_t max, const std::vector<uint64_t>& moved,
                     const std::vector<uint64_t>& granted) {
    std::set<std::string> moved_groups;
    for (uint64_t seq : moved) {
      const ModelMessage& m = model_.messages.at(seq);
      EXPECT_TRUE(model_.Available(m.group)) << Where();
      EXPECT_EQ(model_.GroupMessages(m.group).front(), seq) << Where();
      EXPECT_TRUE(model_.ToDeadLetter(m)) << Where();
      moved_groups.insert(m.group);
    }
    EXPECT_LE(granted.size(), max) << Where();
    std::map<std::string, std::vector<uint64_t>> by_group;
    for (uint64_t seq : granted) {
      by_group[model_.messages.at(seq).group].push_back(seq);
    }
    for (const auto& [g, seqs] : by_group) {
      EXPECT_FALSE(moved_groups.contains(g)) << Where();
      EXPECT_TRUE(model_.Available(g)) << "group " << g << Where();
      std::vector<uint64_t> all = model_.GroupMessages(g);
      ASSERT_GE(all.size(), seqs.size());
      for (size_t i = 0; i < seqs.size(); ++i) {
        EXPECT_EQ(seqs[i], all[i]) << "group order" << Where();
        EXPECT_TRUE(model_.Receivable(model_.messages.at(all[i]))) << Where();
        EXPECT_FALSE(model_.ToDeadLetter(model_.messages.at(all[i])))
            << Where();
      }
      if (granted.size() < max && seqs.size() < all.size()) {
        const ModelMessage& next = model_.messages.at(all[seqs.size()]);
        EXPECT_FALSE(model_.Receivable(next) && !model_.ToDeadLetter(next))
            << "stopped early in group " << g << Where();
      }
    }
    if (granted.size() < max) {
      for (const std::string& g : model_.Groups()) {
        if (moved_groups.contains(g) || by_group.contains(g)) continue;
        EXPECT_FALSE(model_.Available(g))
            << "group " << g << " skipped" << Where();
      }
    }
  }

  // kind 0: delete, 1: change visibility, 2: nack.
  void DeleteOrRelet(int kind) {
    if (handles_.empty()) return;
    const auto [seq, rc] = handles_[rng_.Uniform(handles_.size())];
    internal::ReceiptRef ref;
    ref.set_sequence(seq);
    ref.set_receive_count(rc);
    internal::Command c;
    absl::StatusCode want;
    if (kind == 0) {
      *c.mutable_delete_()->add_receipts() = ref;
      want = model_.Delete(seq, rc);
    } else if (kind == 1) {
      const int64_t d = static_cast<int64_t>(rng_.Uniform(3)) * 20 * kSecond;
      auto* v = c.mutable_change_visibility()->add_changes();
      *v->mutable_receipt() = ref;
      v->set_timeout_micros(d);
      want = model_.Relet(seq, rc, d, false);
    } else {
      auto* n = c.mutable_nack()->add_entries();
      *n->mutable_receipt() = ref;
      int64_t d = -1;
      if (rng_.Bernoulli(0.5)) {
        d = static_cast<int64_t>(rng_.Uniform(2)) * 15 * kSecond;
        n->set_delay_micros(d);
      }
      want = model_.Relet(seq, rc, d, true);
    }
    ApplyResult r = Apply(c);
    ASSERT_EQ(r.entries.size(), 1u);
    EXPECT_EQ(r.entries[0].code(), want) << r.entries[0] << Where();
  }

  void Advance() {
    static constexpr int64_t kSteps[] = {0, 1, 5, 10, 31};
    const int64_t s = kSteps[rng_.Uniform(5)];
    leader_.Advance(absl::Seconds(s));
    follower_.Advance(absl::Seconds(s));
    model_.now += s * kSecond;
  }

  void CompareViews() {
    QueueStats got = leader_.sm().Stats(leader_.log_time());
    QueueStats want = model_.Stats();
    EXPECT_EQ(got.visible, want.visible) << Where();
    EXPECT_EQ(got.in_flight, want.in_flight) << Where();
    EXPECT_EQ(got.delayed, want.delayed) << Where();
    EXPECT_EQ(got.outbox, want.outbox) << Where();
    std::vector<uint64_t> want_peek;
    for (const auto& [seq, m] : model_.messages) {
      if (m.state != S::kOutbox && model_.Receivable(m))
        want_peek.push_back(seq);
    }
    std::vector<uint64_t> got_peek;
    for (MessageSeq s : leader_.sm().Peek(MessageSeq(0), 1'000'000)) {
      got_peek.push_back(s.value());
    }
    EXPECT_EQ(got_peek, want_peek) << Where();
  }

  // Restarts both replicas right after a command (so that the log time of
  // the last applied entry is now) and checks nothing changed.
  void Restart() {
    internal::Command c;
    c.mutable_expire_retention();  // retention is 4 days: a no-op tick
    Apply(c);
    const std::string before = *leader_.sm().Digest();
    EXPECT_EQ(before, *follower_.sm().Digest()) << Where();
    leader_.Reopen();
    follower_.Reopen();
    EXPECT_EQ(*leader_.sm().Digest(), before) << Where();
    CompareViews();
  }

  // The host copied the outbox to the DLQ: confirm.
  void FinishMoves() {
    std::vector<OutboxEntry> out = leader_.sm().Outbox(1000);
    if (out.empty()) return;
    internal::Command c;
    for (const OutboxEntry& e : out) {
      c.mutable_move_done()->add_sequences(e.seq.value());
      EXPECT_EQ(model_.messages.at(e.seq.value()).state, S::kOutbox);
      model_.messages.erase(e.seq.value());
    }
    Apply(c);
  }

  Config config_;
  Random rng_;
  QueueHarness leader_;
  QueueHarness follower_;
  Model model_;
  int step_ = 0;
  std::vector<std::pair<uint64_t, uint32_t>> handles_;
  std::map<std::string, uint64_t> producer_next_;
  std::map<std::string, uint64_t> last_first_;
};

constexpr int kSeeds = 10;
constexpr int kSteps = 600;

TEST(QueueModel, StandardQueue) {
  for (uint64_t seed = 1; seed <= kSeeds && !HasFailure(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ModelRun({}, seed).Run(kSteps);
  }
}

TEST(QueueModel, StandardQueueWithDeadLetterAndBackoff) {
  Config c;
  c.max_receives = 3;
  c.backoff_initial = 2 * kSecond;
  c.backoff_max = 8 * kSecond;
  for (uint64_t seed = 1; seed <= kSeeds && !HasFailure(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ModelRun(c, seed).Run(kSteps);
  }
}

TEST(QueueModel, FifoQueue) {
  Config c;
  c.fifo = true;
  for (uint64_t seed = 1; seed <= kSeeds && !HasFailure(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ModelRun(c, seed).Run(kSteps);
  }
}

TEST(QueueModel, FifoQueueWithDeadLetter) {
  Config c;
  c.fifo = true;
  c.max_receives = 2;
  for (uint64_t seed = 1; seed <= kSeeds && !HasFailure(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ModelRun(c, seed).Run(kSteps);
  }
}

}  // namespace
}  // namespace sluice::broker
