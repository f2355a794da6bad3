// Fuzzes the cluster metadata state machine (broker/meta/
// metadata_state_machine.h): the bytes of committed entries of the metadata
// group, and the snapshot a leader streams to a slow follower, over a real
// LevelDB (in memory).
//
// Input: ops until the input ends; op % 4:
//   0-1 apply an entry [frame]   2 restore a snapshot [frame]
//   3   reopen, or a snapshot round trip [which:1]
// Properties: no crash; the applied index follows the log; a restore
// PrepareRestore accepts also loads; reopening and restoring from the
// machine's own snapshot give the same state.
#include <cstdint>
#include <memory>
#include <string>

#include "broker/meta/metadata_state_machine.h"
#include "google/protobuf/util/message_differencer.h"
#include "leveldb/write_batch.h"
#include "tests/fuzz/fuzz_proto.h"
#include "tests/fuzz/fuzz_util.h"

namespace sluice::fuzz {
namespace {

using google::protobuf::util::MessageDifferencer;
using sluice::internal::MetadataCommand;
using sluice::meta::MetadataStateMachine;

class Harness {
 public:
  Harness() { Open(); }

  const sluice::internal::MetadataState& state() const { return sm_->state(); }

  void Apply(std::string_view bytes) {
    leveldb::WriteBatch batch;
    broker::LevelDbWriteBatch writer(&batch);
    sm_->Apply(raft::Index(++index_), bytes, writer);
    db_.Write(&batch);
    FUZZ_CHECK(sm_->LastApplied() == raft::Index(index_));
  }

  bool Restore(std::string_view data) {
    leveldb::WriteBatch batch;
    broker::LevelDbWriteBatch writer(&batch);
    const absl::Status checked = sm_->CheckSnapshot(data);
    const absl::Status prepared = sm_->PrepareRestore(data, writer);
    FUZZ_CHECK(checked.ok() == prepared.ok())
        << "CheckSnapshot: " << checked << "; PrepareRestore: " << prepared;
    if (!prepared.ok()) return false;
    db_.Write(&batch);
    absl::Status s = sm_->FinishRestore();
    FUZZ_CHECK(s.ok()) << "PrepareRestore accepted a snapshot that "
                          "FinishRestore cannot load: "
                       << s;
    index_ = sm_->LastApplied().value();
    return true;
  }

  std::string Snapshot() {
    auto source = sm_->OpenSnapshot();
    FUZZ_CHECK(source.ok()) << source.status();
    std::string data;
    for (;;) {
      auto chunk = (*source)->NextChunk(256);
      FUZZ_CHECK(chunk.ok()) << chunk.status();
      if (!chunk->has_value()) break;
      data += **chunk;
    }
    return data;
  }

  void Reopen() {
    const sluice::internal::MetadataState before = state();
    db_.Reopen();
    Open();
    FUZZ_CHECK(MessageDifferencer::Equals(before, state()))
        << "state changed across a reopen";
  }

  void CheckSnapshotRoundTrip() {
    Harness other;
    FUZZ_CHECK(other.Restore(Snapshot())) << "own snapshot rejected";
    FUZZ_CHECK(MessageDifferencer::Equals(state(), other.state()))
        << "snapshot restore changed the state";
  }

 private:
  void Open() {
    auto sm = MetadataStateMachine::Open(db_.db());
    FUZZ_CHECK(sm.ok()) << "metadata does not reopen: " << sm.status();
    sm_ = std::move(*sm);
  }

  MemDb db_;
  uint64_t index_ = 0;
  std::unique_ptr<MetadataStateMachine> sm_;
};

MetadataCommand Create(const std::string& name, bool fifo) {
  MetadataCommand c;
  c.set_log_time_micros(1'800'000'000'000'000);
  auto* q = c.mutable_create_queue()->mutable_queue();
  q->set_name(name);
  q->mutable_attributes()->set_fifo(fifo);
  auto* p = q->add_partitions();
  p->set_partition(0);
  p->set_group_id(2);
  for (uint64_t r : {1, 2, 3}) p->add_replicas(r);
  p->set_preferred_leader(1);
  (*q->mutable_tags())["team"] = "billing";
  return c;
}

void ApplyOp(std::string* in, const MetadataCommand& c) {
  in->push_back(0);
  Frame(in, c.SerializeAsString());
}

}  // namespace

std::vector<Seed> Seeds() {
  std::string in;
  MetadataCommand nodes;
  for (uint64_t id : {1, 2, 3}) {
    auto* n = nodes.mutable_register_nodes()->add_nodes();
    n->set_node_id(id);
    n->set_address("127.0.0.1:710" + std::to_string(id));
  }
  ApplyOp(&in, nodes);
  ApplyOp(&in, Create("orders", false));
  ApplyOp(&in, Create("orders.fifo", true));
  MetadataCommand update;
  update.mutable_update_queue()->set_name("orders");
  update.mutable_update_queue()->mutable_attributes()->set_delay_micros(5);
  (*update.mutable_update_queue()->mutable_tags())["env"] = "prod";
  ApplyOp(&in, update);
  MetadataCommand del;
  del.mutable_delete_queue()->set_name("orders.fifo");
  ApplyOp(&in, del);
  std::string reopen = in;
  reopen += std::string("\x03\x00\x03\x01", 4);

  // A snapshot of that state, restored.
  Harness h;
  ByteReader r(in);
  while (!r.empty()) {
    r.U8();
    h.Apply(r.Bytes());
  }
  std::string restore(1, 2);
  Frame(&restore, h.Snapshot());
  return {{"seed-commands", reopen},
          {"seed-restore", restore},
          {"seed-garbage", std::string("\x01\x00\x03\xff\xff\xff", 6)}};
}

}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::fuzz;  // NOLINT(google-build-using-namespace)
  ByteReader in(data, size);
  Harness h;
  int ops = 0;
  while (!in.empty() && ops++ < 200) {
    switch (in.U8() % 4) {
      case 0:
      case 1:
        h.Apply(in.Bytes());
        break;
      case 2:
        h.Restore(in.Bytes());
        break;
      default:
        if (in.U8() % 2 == 0) {
          h.Reopen();
        } else {
          h.CheckSnapshotRoundTrip();
        }
        break;
    }
  }
  return 0;
}
