// Fuzzes the decoders of the records a node keeps in LevelDB: the Raft
// records (raft/leveldb/records.h: entries, hard state, snapshot metadata,
// log start), the Raft key parser (raft/leveldb/keys.h) and the queue's
// message keys (broker/queue/keys.h). All of it is read back from disk.
//
// Input: [decoder:1] [group:8] [index:8] [seal:1] [bytes...]. With seal odd
// the target prefixes the bytes with their correct CRC, so the fuzzer gets
// past the checksum to the payload's parser.
// Properties: no crash; what decodes re-encodes to a record that decodes to
// the same value (the log start, a fixed layout, to the same bytes); a
// parsed key rebuilds to the same bytes.
#include <cstdint>
#include <string>

#include "broker/queue/keys.h"
#include "google/protobuf/util/message_differencer.h"
#include "raft/leveldb/keys.h"
#include "raft/leveldb/records.h"
#include "tests/fuzz/fuzz_proto.h"
#include "tests/fuzz/fuzz_util.h"

namespace sluice::fuzz {
namespace {

using google::protobuf::util::MessageDifferencer;
using raft::GroupId;
using raft::Index;
using raft::Term;
namespace ldb = raft::ldb;

enum Decoder : uint8_t {
  kEntry = 0,
  kHardState = 1,
  kSnapshotMeta = 2,
  kLogStart = 3,
  kRaftKey = 4,
  kQueueKey = 5,
  kDecoders = 6,
};

std::string KeyOf(Decoder decoder, GroupId group, Index index) {
  switch (decoder) {
    case kEntry:
      return ldb::EntryKey(group, index);
    case kHardState:
      return ldb::HardStateKey(group);
    case kSnapshotMeta:
      return ldb::SnapshotMetaKey(group);
    default:
      return ldb::LogStartKey(group);
  }
}

std::string Input(Decoder decoder, uint64_t group, uint64_t index, bool seal,
                  std::string_view bytes) {
  std::string in(1, static_cast<char>(decoder));
  PutU64(&in, group);
  PutU64(&in, index);
  in.push_back(seal ? 1 : 0);
  in.append(bytes);
  return in;
}

void CheckRecord(Decoder decoder, GroupId group, Index index,
                 std::string_view value) {
  switch (decoder) {
    case kEntry: {
      auto entry = ldb::DecodeEntry(group, index, Absl(value));
      if (!entry.ok()) return;
      FUZZ_CHECK(entry->index() == index.value());
      auto again =
          ldb::DecodeEntry(group, index, ldb::EncodeEntry(group, *entry));
      FUZZ_CHECK(again.ok() && MessageDifferencer::Equals(*again, *entry));
      return;
    }
    case kHardState: {
      auto state = ldb::DecodeHardState(group, Absl(value));
      if (!state.ok()) return;
      auto again =
          ldb::DecodeHardState(group, ldb::EncodeHardState(group, *state));
      FUZZ_CHECK(again.ok() && MessageDifferencer::Equals(*again, *state));
      return;
    }
    case kSnapshotMeta: {
      auto meta = ldb::DecodeSnapshotMeta(group, Absl(value));
      if (!meta.ok()) return;
      auto again =
          ldb::DecodeSnapshotMeta(group, ldb::EncodeSnapshotMeta(group, *meta));
      FUZZ_CHECK(again.ok() && MessageDifferencer::Equals(*again, *meta));
      return;
    }
    default: {
      auto start = ldb::DecodeLogStart(group, Absl(value));
      if (!start.ok()) return;
      FUZZ_CHECK(ldb::EncodeLogStart(group, *start) == value);
      return;
    }
  }
}

void CheckRaftKey(std::string_view key) {
  std::optional<ldb::RaftKey> parsed = ldb::ParseRaftKey(Absl(key));
  if (!parsed.has_value()) return;
  std::string rebuilt;
  switch (parsed->kind) {
    case ldb::RaftKind::kHardState:
      rebuilt = ldb::HardStateKey(parsed->group);
      break;
    case ldb::RaftKind::kSnapshotMeta:
      rebuilt = ldb::SnapshotMetaKey(parsed->group);
      break;
    case ldb::RaftKind::kLogStart:
      rebuilt = ldb::LogStartKey(parsed->group);
      break;
    case ldb::RaftKind::kEntry:
      rebuilt = ldb::EntryKey(parsed->group, parsed->index);
      break;
  }
  FUZZ_CHECK(rebuilt == key) << "ParseRaftKey accepted a key it cannot build";
}

void CheckQueueKey(uint64_t group, uint8_t kind_byte, std::string_view key) {
  const broker::QueueKeys keys(broker::QueueKeyPrefix(group));
  const auto kind = static_cast<broker::RecordKind>(kind_byte);
  std::optional<uint64_t> seq = keys.ParseMessage(kind, key);
  if (!seq.has_value()) return;
  FUZZ_CHECK(keys.Message(kind, *seq) == key)
      << "ParseMessage accepted a key it cannot build";
}

}  // namespace

std::vector<Seed> Seeds() {
  std::vector<Seed> seeds;
  using sluice::internal::raft::Entry;
  using sluice::internal::raft::HardState;
  using sluice::internal::raft::SnapshotMetadata;
  const GroupId g(3);
  Entry entry;
  entry.set_term(2);
  entry.set_index(5);
  entry.set_data("hello");
  seeds.push_back(
      {"seed-entry", Input(kEntry, 3, 5, false, ldb::EncodeEntry(g, entry))});
  entry.set_type(sluice::internal::raft::ENTRY_TYPE_CONF_CHANGE);
  seeds.push_back({"seed-entry-payload",
                   Input(kEntry, 3, 5, true, entry.SerializeAsString())});
  HardState hs;
  hs.set_term(4);
  hs.set_vote(2);
  hs.set_commit(9);
  seeds.push_back({"seed-hard-state", Input(kHardState, 3, 0, false,
                                            ldb::EncodeHardState(g, hs))});
  SnapshotMetadata meta;
  meta.set_index(100);
  meta.set_term(3);
  meta.mutable_conf_state()->add_voters(1);
  meta.mutable_conf_state()->add_voters(2);
  meta.mutable_conf_state()->add_learners(4);
  seeds.push_back(
      {"seed-snapshot-meta",
       Input(kSnapshotMeta, 3, 0, false, ldb::EncodeSnapshotMeta(g, meta))});
  seeds.push_back({"seed-snapshot-meta-payload",
                   Input(kSnapshotMeta, 3, 0, true, meta.SerializeAsString())});
  seeds.push_back(
      {"seed-log-start",
       Input(kLogStart, 3, 0, false,
             ldb::EncodeLogStart(g, ldb::LogStart{Index(50), Term(2)}))});
  seeds.push_back({"seed-raft-key-entry",
                   Input(kRaftKey, 0, 0, false, ldb::EntryKey(g, Index(7)))});
  seeds.push_back({"seed-raft-key-hard-state",
                   Input(kRaftKey, 0, 0, false, ldb::HardStateKey(g))});
  const broker::QueueKeys keys(broker::QueueKeyPrefix(3));
  seeds.push_back(
      {"seed-queue-key", Input(kQueueKey, 3, 'm', false,
                               keys.Message(broker::RecordKind::kMeta, 42))});
  return seeds;
}

}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::fuzz;  // NOLINT(google-build-using-namespace)
  ByteReader in(data, size);
  const auto decoder = static_cast<Decoder>(in.U8() % kDecoders);
  const uint64_t group = in.U64();
  const uint64_t index = in.U64();
  const bool seal = (in.U8() & 1) != 0;
  const std::string_view bytes = in.Rest();
  switch (decoder) {
    case kRaftKey:
      CheckRaftKey(bytes);
      break;
    case kQueueKey:
      // The index's low byte names the record kind.
      CheckQueueKey(group, static_cast<uint8_t>(index), bytes);
      break;
    default: {
      const GroupId g(group);
      const Index i(index);
      if (seal) {
        CheckRecord(
            decoder, g, i,
            ldb::SealPayload(KeyOf(decoder, g, i),
                             absl::string_view(bytes.data(), bytes.size())));
      } else {
        CheckRecord(decoder, g, i, bytes);
      }
      break;
    }
  }
  return 0;
}
