// Fuzzes recovery (raft/leveldb/recovery.h): a node's LevelDB holding any
// records at all in the Raft key space, read back at open.
//
// Input: records until the input ends, each
//   [key kind:1] ... [value mode:1] ...
// key kind % 5: 0-3 a Raft key of group [group:1] (hard state, snapshot
// metadata, log start, or entry [index:2]); 4 any key [frame].
// value mode % 3: 0 any value [frame]; 1 a correctly sealed (CRC) payload
// [frame]; 2 a well-formed record built from a few fields, so the fuzzer
// reaches the log rules behind the parsers.
// Properties: no crash; groups come out once each, in order; the log of an
// undamaged group is consistent (start <= last, TermAt defined on
// [start, last] with terms that never decrease, Unavailable above last).
#include <cstdint>
#include <string>

#include "raft/leveldb/keys.h"
#include "raft/leveldb/records.h"
#include "raft/leveldb/recovery.h"
#include "raft/storage/log_storage.h"
#include "tests/fuzz/fuzz_proto.h"
#include "tests/fuzz/fuzz_util.h"

namespace sluice::fuzz {
namespace {

using raft::GroupId;
using raft::Index;
using raft::Term;
namespace ldb = raft::ldb;

// A well-formed record of `kind` for `key`, from a few input bytes.
std::string Built(int kind, GroupId group, Index index, ByteReader& in) {
  switch (kind) {
    case 0: {
      sluice::internal::raft::HardState hs;
      hs.set_term(in.U8());
      hs.set_vote(in.U8() % 4);
      hs.set_commit(in.U16());
      return ldb::EncodeHardState(group, hs);
    }
    case 1: {
      sluice::internal::raft::SnapshotMetadata meta;
      meta.set_index(in.U16());
      meta.set_term(in.U8());
      meta.mutable_conf_state()->add_voters(1 + in.U8() % 4);
      return ldb::EncodeSnapshotMeta(group, meta);
    }
    case 2:
      return ldb::EncodeLogStart(group,
                                 ldb::LogStart{Index(in.U16()), Term(in.U8())});
    default: {
      sluice::internal::raft::Entry entry;
      entry.set_index(index.value());
      entry.set_term(in.U8());
      return ldb::EncodeEntry(group, entry);
    }
  }
}

void CheckLog(const ldb::GroupLog& log) {
  if (!log.damage().ok()) return;
  FUZZ_CHECK(log.start_index() <= log.last_index())
      << "group " << log.group().value() << " start "
      << log.start_index().value() << " last " << log.last_index().value();
  Term previous(0);
  // Bounded: the input cannot hold more than a few thousand entries.
  for (Index i = log.start_index(); i <= log.last_index(); i = i + 1) {
    absl::StatusOr<Term> term = log.TermAt(i);
    FUZZ_CHECK(term.ok()) << "index " << i.value() << ": " << term.status();
    if (i > log.start_index()) FUZZ_CHECK(*term >= previous);
    previous = *term;
    if (i == log.last_index()) break;  // last may be the largest index
  }
  if (log.last_index().value() != ~0ull) {
    absl::StatusOr<Term> above = log.TermAt(log.last_index() + 1);
    FUZZ_CHECK(!above.ok() && raft::IsLogUnavailable(above.status()));
  }
}

std::string Record(uint8_t key_kind, uint8_t group, uint16_t index,
                   uint8_t mode, std::string_view tail) {
  std::string in;
  in.push_back(static_cast<char>(key_kind));
  if (key_kind < 4) in.push_back(static_cast<char>(group));
  if (key_kind == 3) {
    in.push_back(static_cast<char>(index >> 8));
    in.push_back(static_cast<char>(index & 0xff));
  }
  in.push_back(static_cast<char>(mode));
  in.append(tail);
  return in;
}

}  // namespace

std::vector<Seed> Seeds() {
  // Group 1: log start 10 (term 2), entries 11-13, hard state, snapshot.
  std::string log;
  log += Record(2, 1, 0, 2, std::string("\x00\x0a\x02", 3));
  log += Record(3, 1, 11, 2, "\x02");
  log += Record(3, 1, 12, 2, "\x03");
  log += Record(3, 1, 13, 2, "\x03");
  log += Record(0, 1, 0, 2, std::string("\x03\x01\x00\x0c", 4));
  log += Record(1, 1, 0, 2, std::string("\x00\x0a\x02\x00", 4));
  // Group 2: a gap in its log, and a torn hard state.
  std::string gap = log;
  gap += Record(3, 2, 1, 2, "\x01");
  gap += Record(3, 2, 3, 2, "\x01");
  std::string torn;
  Frame(&torn, "\x01\x02");
  gap += Record(0, 2, 0, 0, torn);
  // A key of the Raft space that is no Raft key.
  std::string odd;
  Frame(&odd, std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x05\x09", 10));
  odd.push_back(0);
  Frame(&odd, "x");
  return {{"seed-one-group", log},
          {"seed-gap-and-torn", gap},
          {"seed-malformed-key", Record(4, 0, 0, 0, "").substr(0, 1) + odd}};
}

}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::fuzz;  // NOLINT(google-build-using-namespace)
  ByteReader in(data, size);
  MemDb db;
  leveldb::WriteBatch batch;
  int records = 0;
  while (!in.empty() && records++ < 2000) {
    const int kind = in.U8() % 5;
    std::string key;
    GroupId group(0);
    Index index(0);
    if (kind < 4) {
      group = GroupId(in.U8());
      switch (kind) {
        case 0:
          key = ldb::HardStateKey(group);
          break;
        case 1:
          key = ldb::SnapshotMetaKey(group);
          break;
        case 2:
          key = ldb::LogStartKey(group);
          break;
        default:
          index = Index(in.U16());
          key = ldb::EntryKey(group, index);
          break;
      }
    } else {
      key = std::string(in.Bytes());
    }
    const int mode = in.U8() % 3;
    std::string value;
    if (mode == 0) {
      value = std::string(in.Bytes());
    } else if (mode == 1) {
      const std::string_view payload = in.Bytes();
      value = ldb::SealPayload(
          key, absl::string_view(payload.data(), payload.size()));
    } else {
      value = Built(kind, group, index, in);
    }
    batch.Put(key, value);
  }
  db.Write(&batch);

  absl::StatusOr<std::vector<ldb::GroupLog>> logs =
      ldb::RecoverGroupLogs(db.db());
  if (!logs.ok()) {
    FUZZ_CHECK(logs.status().code() == absl::StatusCode::kDataLoss)
        << logs.status();
    return 0;
  }
  for (size_t i = 0; i < logs->size(); ++i) {
    if (i > 0) {
      FUZZ_CHECK((*logs)[i - 1].group() < (*logs)[i].group())
          << "groups out of order or repeated";
    }
    CheckLog((*logs)[i]);
  }
  return 0;
}
