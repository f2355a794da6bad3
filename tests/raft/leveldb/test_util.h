// Helpers for the LevelDB storage tests: a temporary directory under /tmp,
// entries, and a synchronous submit that waits for the writer's callback.
#ifndef SLUICE_TESTS_RAFT_LEVELDB_TEST_UTIL_H_
#define SLUICE_TESTS_RAFT_LEVELDB_TEST_UTIL_H_

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "raft/leveldb/raft_db.h"
#include "raft/leveldb/write_request.h"
#include "sluice/internal/raft.pb.h"

namespace sluice::raft::testing {

// A fresh directory made by mkdtemp, removed with its contents at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/sluice-raft-leveldb-XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string db_path() const { return path_ + "/db"; }

 private:
  std::string path_;
};

inline sluice::internal::raft::Entry MakeEntry(uint64_t index, uint64_t term,
                                               std::string data = "") {
  sluice::internal::raft::Entry entry;
  entry.set_index(index);
  entry.set_term(term);
  entry.set_data(data.empty() ? absl::StrCat("entry-", index, "-", term)
                              : std::move(data));
  return entry;
}

// Entries [first, last] all with `term`.
inline std::vector<sluice::internal::raft::Entry> MakeEntries(uint64_t first,
                                                              uint64_t last,
                                                              uint64_t term) {
  std::vector<sluice::internal::raft::Entry> entries;
  for (uint64_t i = first; i <= last; ++i)
    entries.push_back(MakeEntry(i, term));
  return entries;
}

inline sluice::internal::raft::HardState MakeHardState(uint64_t term,
                                                       uint64_t vote,
                                                       uint64_t commit) {
  sluice::internal::raft::HardState state;
  state.set_term(term);
  state.set_vote(vote);
  state.set_commit(commit);
  return state;
}

inline sluice::internal::raft::SnapshotMetadata MakeSnapshot(
    uint64_t index, uint64_t term, std::vector<uint64_t> voters = {1, 2, 3}) {
  sluice::internal::raft::SnapshotMetadata meta;
  meta.set_index(index);
  meta.set_term(term);
  for (uint64_t voter : voters) meta.mutable_conf_state()->add_voters(voter);
  return meta;
}

// Submits `request` and waits for its callback.
inline absl::Status Write(StorageWriter& writer, WriteRequest request) {
  std::promise<absl::Status> done;
  std::future<absl::Status> result = done.get_future();
  request.done = [&done](absl::Status status) {
    done.set_value(std::move(status));
  };
  writer.Submit(std::move(request));
  return result.get();
}

inline absl::Status Write(StorageWriter& writer, GroupWrite write) {
  WriteRequest request;
  request.groups.push_back(std::move(write));
  return Write(writer, std::move(request));
}

inline absl::Status Append(StorageWriter& writer, uint64_t group,
                           std::vector<sluice::internal::raft::Entry> entries) {
  GroupWrite write;
  write.group = GroupId(group);
  write.entries = std::move(entries);
  return Write(writer, std::move(write));
}

inline std::unique_ptr<RaftDb> OpenDb(const TempDir& dir) {
  absl::StatusOr<std::unique_ptr<RaftDb>> db =
      RaftDb::Open(dir.db_path(), RaftDb::Options());
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : nullptr;
}

// The terms of the entries [lo, hi) as read through Entries().
inline std::vector<uint64_t> TermsOf(const LogStorage& storage, uint64_t lo,
                                     uint64_t hi) {
  auto entries = storage.Entries(Index(lo), Index(hi), UINT64_MAX);
  EXPECT_TRUE(entries.ok()) << entries.status();
  std::vector<uint64_t> terms;
  if (!entries.ok()) return terms;
  for (const auto& entry : *entries) terms.push_back(entry.term());
  return terms;
}

}  // namespace sluice::raft::testing

#endif  // SLUICE_TESTS_RAFT_LEVELDB_TEST_UTIL_H_
