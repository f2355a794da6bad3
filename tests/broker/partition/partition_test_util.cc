#include "tests/broker/partition/partition_test_util.h"

#include "absl/strings/str_cat.h"
#include "base/logging.h"
#include "broker/partition/proto_time.h"
#include "broker/queue/keys.h"
#include "leveldb/write_batch.h"

namespace sluice::broker::testing {

void TestProposer::Propose(internal::Command command, Done done) {
  log_.push_back(command);
  pending_.emplace_back(std::move(command), std::move(done));
  if (!async_) Drain();
}

void TestProposer::Drain() {
  if (draining_) return;  // a callback proposed: the outer loop applies it
  draining_ = true;
  while (!pending_.empty()) ApplyNext();
  draining_ = false;
}

void TestProposer::ApplyNext() {
  SLUICE_CHECK(!pending_.empty());
  auto [command, done] = std::move(pending_.front());
  pending_.pop_front();
  leveldb::WriteBatch batch;
  LevelDbWriteBatch writer(&batch);
  ApplyResult r = sm_->Apply(command, next_index_++, writer);
  db_->Write(&batch);
  done(std::move(r));
}

void TestProposer::FailNext(absl::Status status) {
  SLUICE_CHECK(!pending_.empty());
  auto [command, done] = std::move(pending_.front());
  pending_.pop_front();
  done(std::move(status));
}

void TestProposer::ApplyAll() {
  while (!pending_.empty()) ApplyNext();
}

int TestProposer::Count(internal::Command::KindCase kind) const {
  int n = 0;
  for (const internal::Command& c : log_) n += c.kind_case() == kind;
  return n;
}

PartitionFixture::PartitionFixture(internal::QueueAttributes attributes,
                                   MoveSender* move_sender,
                                   PartitionOpsOptions options) {
  QueueOptions q;
  q.partition = PartitionId(7);  // the Raft group: not the partition index
  q.key_prefix = QueueKeyPrefix(7);
  q.db = db_.db();
  q.clock = &clock_;
  auto sm = QueueStateMachine::Open(q);
  SLUICE_CHECK(sm.ok()) << sm.status();
  sm_ = std::move(*sm);
  proposer_ = std::make_unique<TestProposer>(sm_.get(), &db_);
  if (attributes.name().empty()) {
    attributes.set_name(attributes.fifo() ? "q.fifo" : "q");
  }
  internal::Command c;
  c.set_log_time_micros(absl::ToUnixMicros(wall_.Now()));
  *c.mutable_set_attributes()->mutable_attributes() = attributes;
  proposer_->Propose(c, [](absl::StatusOr<ApplyResult> r) {
    SLUICE_CHECK(r.ok() && r->status.ok()) << "configure";
  });
  options.queue_id = kQueueId;
  options.partition = kPartition;
  options.wall_clock = &wall_;
  options.clock = &clock_;
  options.move_sender = move_sender;
  ops_ = std::make_unique<PartitionOps>(*sm_, *proposer_, options);
}

absl::StatusOr<v1::SendResponse> PartitionFixture::Send(
    const v1::SendRequest& request, std::vector<int> indexes) {
  return Await<v1::SendResponse>(
      [&](auto done) { ops_->Send(request, done, indexes); });
}

std::vector<v1::SendResult> PartitionFixture::SendBodies(
    const std::vector<std::string>& bodies, const std::string& group) {
  v1::SendRequest request;
  for (size_t i = 0; i < bodies.size(); ++i) {
    v1::SendEntry* e = request.add_entries();
    *e = TextEntry(absl::StrCat("e", i), bodies[i], group);
    if (!group.empty()) e->set_dedup_id(absl::StrCat(bodies[i], "-dedup"));
  }
  absl::StatusOr<v1::SendResponse> r = Send(request);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  for (const v1::SendResult& s : r->results()) {
    EXPECT_EQ(s.status().code(), 0) << s.status().message();
  }
  return {r->results().begin(), r->results().end()};
}

absl::StatusOr<v1::ReceiveResponse> PartitionFixture::Receive(
    uint32_t max, std::optional<absl::Duration> timeout) {
  v1::ReceiveRequest request;
  request.set_max_messages(max);
  if (timeout.has_value()) {
    *request.mutable_visibility_timeout() = ToProtoDuration(*timeout);
  }
  return Await<v1::ReceiveResponse>(
      [&](auto done) { ops_->Receive(request, done); });
}

absl::StatusOr<v1::DeleteResponse> PartitionFixture::Delete(
    const std::vector<std::string>& handles) {
  v1::DeleteRequest request;
  for (size_t i = 0; i < handles.size(); ++i) {
    v1::DeleteEntry* e = request.add_entries();
    e->set_entry_id(absl::StrCat("d", i));
    e->set_receipt_handle(handles[i]);
  }
  return Await<v1::DeleteResponse>(
      [&](auto done) { ops_->Delete(request, done); });
}

absl::StatusOr<v1::ChangeVisibilityResponse> PartitionFixture::ChangeVisibility(
    const std::vector<std::string>& handles, absl::Duration timeout) {
  v1::ChangeVisibilityRequest request;
  for (size_t i = 0; i < handles.size(); ++i) {
    v1::ChangeVisibilityEntry* e = request.add_entries();
    e->set_entry_id(absl::StrCat("c", i));
    e->set_receipt_handle(handles[i]);
    *e->mutable_visibility_timeout() = ToProtoDuration(timeout);
  }
  return Await<v1::ChangeVisibilityResponse>(
      [&](auto done) { ops_->ChangeVisibility(request, done); });
}

absl::StatusOr<v1::StreamItemResult> PartitionFixture::Nack(
    const std::vector<std::string>& handles,
    std::optional<absl::Duration> delay) {
  v1::StreamNack nack;
  for (const std::string& h : handles) nack.add_receipt_handles(h);
  if (delay.has_value()) {
    *nack.mutable_redelivery_delay() = ToProtoDuration(*delay);
  }
  return Await<v1::StreamItemResult>(
      [&](auto done) { ops_->Nack(nack, done); });
}

absl::StatusOr<v1::StreamItemResult> PartitionFixture::Extend(
    const std::vector<std::string>& handles, absl::Duration timeout) {
  v1::StreamExtendLease extend;
  for (const std::string& h : handles) extend.add_receipt_handles(h);
  *extend.mutable_visibility_timeout() = ToProtoDuration(timeout);
  return Await<v1::StreamItemResult>(
      [&](auto done) { ops_->ExtendLease(extend, done); });
}

absl::StatusOr<v1::PurgeQueueResponse> PartitionFixture::Purge() {
  return Await<v1::PurgeQueueResponse>(
      [&](auto done) { ops_->PurgeQueue(v1::PurgeQueueRequest(), done); });
}

uint64_t PartitionFixture::VisibleCount() {
  auto stats = ops_->GetQueueStats(v1::GetQueueStatsRequest());
  SLUICE_CHECK(stats.ok()) << stats.status();
  return stats->counts().visible_count();
}

v1::SendEntry TextEntry(const std::string& id, const std::string& body,
                        const std::string& group) {
  v1::SendEntry e;
  e.set_entry_id(id);
  e.set_body(body);
  e.set_group_id(group);
  return e;
}

void FixtureMoveSender::SendMoves(const std::string& destination,
                                  internal::SendBatch batch,
                                  std::function<void(absl::Status)> done) {
  destinations.push_back(destination);
  if (target_ == nullptr) return done(absl::UnavailableError("no target"));
  target_->ops().AcceptMoves(std::move(batch), std::move(done));
}

}  // namespace sluice::broker::testing
