// Fuzzes what a node does with the bytes a peer sends on the Raft transport
// (broker/transport/raft_transport_service.cc): RaftStream requests
// (envelopes of serialized Raft messages and coalesced heartbeats) and
// InstallSnapshot's first item, decoded and checked as the service does,
// then stepped into a live Raft core (node 1 of a 3-voter group) driven by a
// host loop like broker/host's: persist, apply, Advance.
//
// Input: [setup:1] then ops until the input ends; op % 6:
//   0 a RaftStreamRequest [frame]      3 Tick [n:1]
//   1 one raw Raft message [frame]     4 Propose [frame] / Campaign
//   2 an InstallSnapshotRequest [frame] + snapshot data [frame]
//   5 a Raft message built from small fields (structurally plausible), so
//     the fuzzer reaches deep states without re-learning protobuf
// Properties: no crash (the core's own invariant checks included); Step
// refuses bad messages only with INVALID_ARGUMENT; commit never passes the
// last index; entries are applied once each, in order.
#include <cstdint>
#include <string>
#include <vector>

#include "base/random.h"
#include "broker/transport/heartbeat_coalescer.h"
#include "raft/core/raw_node.h"
#include "raft/storage/memory_storage.h"
#include "sluice/internal/transport.pb.h"
#include "tests/fuzz/fuzz_proto.h"
#include "tests/fuzz/fuzz_util.h"

namespace sluice::fuzz {
namespace {

using sluice::internal::InstallSnapshotRequest;
using sluice::internal::RaftStreamRequest;
using sluice::internal::raft::ConfChange;
using sluice::internal::raft::ConfState;
using sluice::internal::raft::Entry;
using sluice::internal::raft::Message;

constexpr uint64_t kSelf = 1;
constexpr uint64_t kGroup = 7;
constexpr int kOps = 6;

class Harness {
 public:
  explicit Harness(uint8_t setup) : random_(setup) {
    ConfState cs;
    for (uint64_t id : {1, 2, 3}) cs.add_voters(id);
    if (setup & 0x10) cs.add_learners(4);
    storage_ = std::make_unique<raft::MemoryStorage>(cs);
    if (setup & 0x04) {
      // A log a previous leader left: entries 1-5 of term 1, 3 committed.
      std::vector<Entry> entries;
      for (uint64_t i = 1; i <= 5; ++i) {
        Entry e;
        e.set_index(i);
        e.set_term(1);
        e.set_data("x");
        entries.push_back(e);
      }
      SLUICE_CHECK(storage_->Append(entries).ok());
      sluice::internal::raft::HardState hs;
      hs.set_term(1);
      hs.set_commit(3);
      storage_->SetHardState(hs);
    }
    raft::Config config;
    config.id = raft::NodeId(kSelf);
    config.group = raft::GroupId(kGroup);
    config.election_tick = 10;
    config.heartbeat_tick = 1;
    config.pre_vote = (setup & 0x01) != 0;
    config.check_quorum = (setup & 0x02) != 0;
    config.max_inflight_msgs = 4;
    config.random = &random_;
    auto node = raft::RawNode::Create(config, storage_.get());
    SLUICE_CHECK(node.ok()) << node.status();
    node_ = std::move(*node);
    if (setup & 0x08) node_->Campaign();
    Process();
  }

  // What the service does with one RaftStream request from a peer.
  void Stream(std::string_view bytes) {
    RaftStreamRequest request;
    if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return;
    const uint64_t from = request.header().from_node_id();
    if (from == 0) return;  // CheckHeader
    std::vector<Message> messages;
    for (const auto& envelope : request.messages()) {
      Message m;
      if (!m.ParseFromString(envelope.message()) ||
          m.group() != envelope.group_id() || m.from() != from ||
          m.to() != kSelf) {
        return;  // INVALID_ARGUMENT: the stream ends
      }
      messages.push_back(std::move(m));
    }
    if (!broker::ExpandHeartbeats(request, raft::NodeId(from),
                                  raft::NodeId(kSelf), messages)
             .ok()) {
      return;
    }
    for (const Message& m : messages) Deliver(m);
  }

  // InstallSnapshot's `begin` item, then the assembled data.
  void Snapshot(std::string_view bytes, std::string_view data) {
    InstallSnapshotRequest request;
    if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return;
    if (request.header().from_node_id() == 0 || !request.has_begin()) return;
    Message m;
    if (!m.ParseFromString(request.begin().raft_message()) ||
        m.group() != request.begin().group_id() || m.to() != kSelf) {
      return;
    }
    m.mutable_snapshot()->set_data(std::string(data));
    Deliver(m);
  }

  void Raw(std::string_view bytes) {
    Message m;
    if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
    if (m.to() != kSelf || m.from() == 0) return;
    Deliver(m);
  }

  void Built(ByteReader& in) {
    Message m;
    m.set_type(static_cast<sluice::internal::raft::MessageType>(in.U8() % 14));
    m.set_group(kGroup);
    m.set_to(kSelf);
    m.set_from(2 + in.U8() % 3);
    m.set_term(in.U8());
    m.set_log_term(in.U8());
    m.set_index(in.U8());
    m.set_commit(in.U8());
    const uint8_t flags = in.U8();
    m.set_reject((flags & 1) != 0);
    m.set_quiesce((flags & 2) != 0);
    m.set_transfer((flags & 4) != 0);
    if (flags & 8) m.set_context("ctx");
    if (flags & 16) m.set_reject_hint(in.U8());
    const int n = in.U8() % 4;
    uint64_t term = m.log_term();
    for (int i = 0; i < n; ++i) {
      Entry* e = m.add_entries();
      e->set_index(m.index() + 1 + i);
      term += in.U8() % 2;
      e->set_term(term);
      if (in.U8() % 4 == 0) {
        e->set_type(sluice::internal::raft::ENTRY_TYPE_CONF_CHANGE);
        ConfChange cc;
        auto* change = cc.add_changes();
        change->set_type(
            static_cast<sluice::internal::raft::ConfChangeType>(in.U8() % 3));
        change->set_node_id(1 + in.U8() % 5);
        e->set_data(cc.SerializeAsString());
      } else {
        e->set_data("d");
      }
    }
    if (m.type() == sluice::internal::raft::MESSAGE_TYPE_SNAPSHOT) {
      auto* meta = m.mutable_snapshot()->mutable_metadata();
      meta->set_index(in.U8());
      meta->set_term(in.U8());
      for (uint64_t id : {1, 2, 3}) meta->mutable_conf_state()->add_voters(id);
    }
    Deliver(m);
  }

  void Tick(int n) {
    for (int i = 0; i < n; ++i) node_->Tick();
    Process();
  }

  void Propose(std::string_view data) {
    (void)node_->Propose(std::string(data));
    Process();
  }

  void Campaign() {
    node_->Campaign();
    Process();
  }

 private:
  void Deliver(const Message& m) {
    absl::Status s = node_->Step(m);
    // The core refuses what it cannot take (the host logs it); it never
    // crashes on it.
    FUZZ_CHECK(s.ok() || s.code() == absl::StatusCode::kInvalidArgument) << s;
    Process();
  }

  // One host loop iteration, as broker/host/replica.cc does it.
  void Process() {
    while (node_->HasReady()) {
      raft::Ready rd = node_->GetReady();
      if (rd.snapshot) {
        SLUICE_CHECK(storage_->ApplySnapshot(*rd.snapshot).ok());
        applied_ = raft::Index(rd.snapshot->metadata().index());
      }
      if (!rd.entries.empty()) SLUICE_CHECK(storage_->Append(rd.entries).ok());
      if (rd.hard_state) {
        FUZZ_CHECK(rd.hard_state->commit() <= storage_->LastIndex().value())
            << "commit " << rd.hard_state->commit() << " past last index "
            << storage_->LastIndex().value();
        storage_->SetHardState(*rd.hard_state);
      }
      for (const Entry& e : rd.committed_entries) {
        const raft::Index index(e.index());
        if (index <= applied_) continue;
        FUZZ_CHECK(index == applied_ + 1)
            << "applies " << index.value() << " after " << applied_.value();
        applied_ = index;
        if (e.type() == sluice::internal::raft::ENTRY_TYPE_CONF_CHANGE) {
          ConfChange cc;
          // As broker/host/replica.cc: a committed conf change that does not
          // parse or apply is skipped (alike on every replica).
          if (!cc.ParseFromString(e.data())) continue;
          auto cs = node_->ApplyConfChange(cc);
          if (cs.ok()) storage_->SetConfState(*cs);
        }
      }
      node_->Advance();
    }
  }

  Random random_;
  std::unique_ptr<raft::MemoryStorage> storage_;
  std::unique_ptr<raft::RawNode> node_;
  raft::Index applied_{0};
};

std::string Envelope(const Message& m) {
  RaftStreamRequest request;
  request.mutable_header()->set_from_node_id(m.from());
  auto* envelope = request.add_messages();
  envelope->set_group_id(m.group());
  envelope->set_message(m.SerializeAsString());
  return request.SerializeAsString();
}

Message Make(sluice::internal::raft::MessageType type, uint64_t from,
             uint64_t term) {
  Message m;
  m.set_type(type);
  m.set_group(kGroup);
  m.set_from(from);
  m.set_to(kSelf);
  m.set_term(term);
  return m;
}

}  // namespace

std::vector<Seed> Seeds() {
  using namespace sluice::internal::raft;  // NOLINT
  std::vector<Seed> seeds;
  // A leader (node 2) appends two entries and commits them.
  {
    std::string in(1, 0x03);
    Message app = Make(MESSAGE_TYPE_APPEND, 2, 1);
    for (uint64_t i = 1; i <= 2; ++i) {
      Entry* e = app.add_entries();
      e->set_index(i);
      e->set_term(1);
      e->set_data("job");
    }
    app.set_commit(2);
    in.push_back(0);
    Frame(&in, Envelope(app));
    // Coalesced heartbeats from node 2.
    RaftStreamRequest hb;
    hb.mutable_header()->set_from_node_id(2);
    hb.mutable_heartbeats()->add_group_ids(kGroup);
    hb.mutable_heartbeats()->add_terms(1);
    hb.mutable_heartbeats()->add_commits(2);
    in.push_back(0);
    Frame(&in, hb.SerializeAsString());
    seeds.push_back({"seed-follower-append", in});
  }
  // Node 1 campaigns and wins with node 2's vote, then hears appends back.
  {
    std::string in(1, 0x08 | 0x04);
    Message vote = Make(MESSAGE_TYPE_VOTE_RESPONSE, 2, 2);
    in.push_back(1);
    Frame(&in, vote.SerializeAsString());
    in.push_back(4);
    Frame(&in, "payload");
    Message resp = Make(MESSAGE_TYPE_APPEND_RESPONSE, 2, 2);
    resp.set_index(7);
    in.push_back(1);
    Frame(&in, resp.SerializeAsString());
    in.push_back(3);
    in.push_back(5);
    seeds.push_back({"seed-leader", in});
  }
  // A snapshot from node 3.
  {
    std::string in(1, 0x04);
    Message snap = Make(MESSAGE_TYPE_SNAPSHOT, 3, 2);
    snap.mutable_snapshot()->mutable_metadata()->set_index(10);
    snap.mutable_snapshot()->mutable_metadata()->set_term(2);
    for (uint64_t id : {1, 2, 3}) {
      snap.mutable_snapshot()
          ->mutable_metadata()
          ->mutable_conf_state()
          ->add_voters(id);
    }
    InstallSnapshotRequest request;
    request.mutable_header()->set_from_node_id(3);
    request.mutable_begin()->set_group_id(kGroup);
    request.mutable_begin()->set_index(10);
    request.mutable_begin()->set_term(2);
    request.mutable_begin()->set_raft_message(snap.SerializeAsString());
    in.push_back(2);
    Frame(&in, request.SerializeAsString());
    Frame(&in, "state machine data");
    seeds.push_back({"seed-snapshot", in});
  }
  // Built messages: a pre-vote, an append with a conf change, a heartbeat.
  {
    std::string in(1, 0x01);
    in += std::string("\x05\x05\x01\x02\x00\x00\x00\x00\x00", 9);
    in +=
        std::string("\x05\x01\x00\x01\x00\x00\x02\x00\x02\x00\x00\x00\x03", 13);
    in += std::string("\x05\x07\x00\x02\x00\x00\x02\x00\x00", 9);
    seeds.push_back({"seed-built", in});
  }
  return seeds;
}

}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::fuzz;  // NOLINT(google-build-using-namespace)
  ByteReader in(data, size);
  Harness h(in.U8());
  int ops = 0;
  while (!in.empty() && ops++ < 256) {
    switch (in.U8() % kOps) {
      case 0:
        h.Stream(in.Bytes());
        break;
      case 1:
        h.Raw(in.Bytes());
        break;
      case 2: {
        const std::string_view request = in.Bytes();
        h.Snapshot(request, in.Bytes());
        break;
      }
      case 3:
        h.Tick(in.U8() % 32);
        break;
      case 4: {
        const std::string_view proposal = in.Bytes();
        if (proposal.empty()) {
          h.Campaign();
        } else {
          h.Propose(proposal);
        }
        break;
      }
      default:
        h.Built(in);
        break;
    }
  }
  return 0;
}
