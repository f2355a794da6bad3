// A node's data directory: who it belongs to, and who is using it now.
//
// On first start the directory gets an IDENTITY file naming the cluster and
// the node; every later start must match it, so a node never runs on the
// state of another node or cluster (which would break Raft's rule that a
// node id names one disk). A LOCK file held with flock() keeps a second
// process off the same directory.
#ifndef SLUICE_BROKER_NODE_DATA_DIR_H_
#define SLUICE_BROKER_NODE_DATA_DIR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace sluice::node {

class DataDir {
 public:
  // Creates the directory when missing, then checks or writes IDENTITY and
  // takes the lock. FAILED_PRECONDITION when the directory belongs to another
  // node or cluster, holds data without an identity, or is locked.
  static absl::StatusOr<std::unique_ptr<DataDir>> Claim(
      const std::string& path, const std::string& cluster_name,
      uint64_t node_id);
  ~DataDir();
  DataDir(const DataDir&) = delete;
  DataDir& operator=(const DataDir&) = delete;

  const std::string& path() const { return path_; }
  // True when IDENTITY was written by this Claim: the node bootstraps.
  bool is_new() const { return is_new_; }
  std::string RaftDbPath() const { return path_ + "/raft"; }

 private:
  DataDir(std::string path, int lock_fd, bool is_new)
      : path_(std::move(path)), lock_fd_(lock_fd), is_new_(is_new) {}

  std::string path_;
  int lock_fd_;
  bool is_new_;
};

}  // namespace sluice::node

#endif  // SLUICE_BROKER_NODE_DATA_DIR_H_
