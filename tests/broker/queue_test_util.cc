#include "tests/broker/queue_test_util.h"

#include <stdlib.h>
#include <unistd.h>

#include "base/logging.h"
#include "broker/queue/keys.h"
#include "broker/queue/receipt_handle.h"
#include "gtest/gtest.h"
#include "leveldb/write_batch.h"

namespace sluice::broker::testing {

TempDb::TempDb() {
  char tmpl[] = "/tmp/sluice_queue_test_XXXXXX";
  char* dir = mkdtemp(tmpl);
  SLUICE_CHECK(dir != nullptr) << "mkdtemp";
  dir_ = dir;
  leveldb::Options options;
  options.create_if_missing = true;
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir_ + "/db", &db);
  SLUICE_CHECK(s.ok()) << s.ToString();
  db_.reset(db);
}

TempDb::~TempDb() {
  db_.reset();
  leveldb::DestroyDB(dir_ + "/db", leveldb::Options());
  rmdir(dir_.c_str());
}

void TempDb::Write(leveldb::WriteBatch* batch) {
  leveldb::WriteOptions options;
  options.sync = sync_;
  leveldb::Status s = db_->Write(options, batch);
  SLUICE_CHECK(s.ok()) << s.ToString();
}

QueueHarness::QueueHarness(std::optional<internal::QueueAttributes> attributes,
                           uint64_t partition)
    : partition_(partition) {
  Reopen();
  if (attributes.has_value()) {
    ApplyResult r = Configure(*attributes);
    EXPECT_TRUE(r.status.ok()) << r.status;
  }
}

void QueueHarness::Reopen() {
  sm_.reset();
  QueueOptions options;
  options.partition = PartitionId(partition_);
  options.key_prefix = QueueKeyPrefix(partition_);
  options.db = db_.db();
  options.clock = &clock_;
  auto sm = QueueStateMachine::Open(options);
  SLUICE_CHECK(sm.ok()) << sm.status();
  sm_ = std::move(*sm);
}

void QueueHarness::Advance(absl::Duration d) {
  clock_.Advance(d);
  log_time_ += d;
}

ApplyResult QueueHarness::Apply(internal::Command command) {
  command.set_log_time_micros(absl::ToUnixMicros(log_time_));
  leveldb::WriteBatch batch;
  LevelDbWriteBatch writer(&batch);
  ApplyResult r = sm_->Apply(command, next_index_++, writer);
  db_.Write(&batch);
  return r;
}

ApplyResult QueueHarness::Configure(const internal::QueueAttributes& a) {
  internal::Command c;
  *c.mutable_set_attributes()->mutable_attributes() = a;
  return Apply(c);
}

SendResult QueueHarness::Send(const std::string& body, const std::string& group,
                              const std::string& dedup,
                              std::optional<absl::Duration> delay) {
  internal::Command c;
  internal::SendEntry* e = c.mutable_send()->add_entries();
  *e = Entry(body, group, dedup);
  if (delay.has_value()) e->set_delay_micros(absl::ToInt64Microseconds(*delay));
  ApplyResult r = Apply(c);
  SLUICE_CHECK(r.sends.size() == 1);
  return r.sends[0];
}

std::vector<LeasedMessage> QueueHarness::Receive(
    uint32_t max, std::optional<absl::Duration> timeout) {
  ReceivePlan plan = sm_->PlanReceive({max, timeout});
  if (plan.dead_letter.messages_size() > 0) {
    internal::Command c;
    *c.mutable_move_to_dead_letter() = plan.dead_letter;
    Apply(c);
  }
  if (plan.grant.grants_size() == 0) return {};
  internal::Command c;
  *c.mutable_grant() = plan.grant;
  ApplyResult r = Apply(c);
  EXPECT_TRUE(r.status.ok()) << r.status;
  return r.leased;
}

absl::Status QueueHarness::Delete(const LeasedMessage& m) {
  return Delete(m.receipt_handle);
}

absl::Status QueueHarness::Delete(const std::string& receipt_handle) {
  auto handle = ReceiptHandle::Decode(receipt_handle);
  if (!handle.ok()) return handle.status();
  internal::Command c;
  internal::ReceiptRef* r = c.mutable_delete_()->add_receipts();
  r->set_sequence(handle->sequence.value());
  r->set_receive_count(handle->receive_count);
  ApplyResult result = Apply(c);
  SLUICE_CHECK(result.entries.size() == 1);
  return result.entries[0];
}

absl::Status QueueHarness::ChangeVisibility(const LeasedMessage& m,
                                            absl::Duration d) {
  internal::Command c;
  internal::VisibilityChange* v = c.mutable_change_visibility()->add_changes();
  v->mutable_receipt()->set_sequence(m.seq.value());
  v->mutable_receipt()->set_receive_count(m.receive_count);
  v->set_timeout_micros(absl::ToInt64Microseconds(d));
  ApplyResult result = Apply(c);
  SLUICE_CHECK(result.entries.size() == 1);
  return result.entries[0];
}

absl::Status QueueHarness::Nack(const LeasedMessage& m,
                                std::optional<absl::Duration> delay) {
  internal::Command c;
  internal::NackEntry* n = c.mutable_nack()->add_entries();
  n->mutable_receipt()->set_sequence(m.seq.value());
  n->mutable_receipt()->set_receive_count(m.receive_count);
  if (delay.has_value()) n->set_delay_micros(absl::ToInt64Microseconds(*delay));
  ApplyResult result = Apply(c);
  SLUICE_CHECK(result.entries.size() == 1);
  return result.entries[0];
}

std::string QueueHarness::Body(MessageSeq seq) {
  auto m = sm_->ReadMessage(seq);
  if (!m.ok()) return "<" + std::string(m.status().message()) + ">";
  return m->body.body();
}

internal::QueueAttributes FifoAttributes(bool content_based) {
  internal::QueueAttributes a;
  a.set_fifo(true);
  a.set_name("q.fifo");
  if (content_based) a.set_content_based_dedup(true);
  return a;
}

internal::SendEntry Entry(const std::string& body, const std::string& group,
                          const std::string& dedup) {
  internal::SendEntry e;
  e.set_body(body);
  e.set_group_id(group);
  e.set_dedup_id(dedup);
  return e;
}

}  // namespace sluice::broker::testing
