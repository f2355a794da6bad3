#include "broker/node/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace sluice::node {
namespace {

std::string IdentityText(const std::string& cluster_name, uint64_t node_id) {
  return absl::StrCat("cluster-name=", cluster_name, "\nnode-id=", node_id,
                      "\n");
}

// Writes `text` to `path` durably: a temporary file, fsync, rename, fsync of
// the directory.
absl::Status WriteFileDurably(const std::string& dir, const std::string& path,
                              const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", tmp));
  bool ok = ::write(fd, text.data(), text.size()) ==
                static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<DataDir>> DataDir::Claim(
    const std::string& path, const std::string& cluster_name,
    uint64_t node_id) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("--data-dir: cannot create ", path, ": ", ec.message()));
  }
  const std::string lock_path = path + "/LOCK";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--data-dir: cannot open ", lock_path));
  }
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return absl::FailedPreconditionError(
        absl::StrCat("--data-dir: ", path, " is in use by another process (",
                     lock_path, " is locked)"));
  }
  auto fail = [&](absl::Status status) {
    ::close(lock_fd);
    return status;
  };

  const std::string identity_path = path + "/IDENTITY";
  const std::string want = IdentityText(cluster_name, node_id);
  if (fs::exists(identity_path)) {
    std::ifstream in(identity_path);
    std::stringstream have;
    have << in.rdbuf();
    if (have.str() != want) {
      return fail(absl::FailedPreconditionError(absl::StrCat(
          "--data-dir: ", path,
          " belongs to another node or cluster: it holds\n", have.str(),
          "but this node is\n", want,
          "Point --data-dir at this node's own directory, or at an empty one "
          "to join as a new node (under a new --node-id).")));
    }
    return std::unique_ptr<DataDir>(
        new DataDir(path, lock_fd, /*is_new=*/false));
  }
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    if (name != "LOCK" && name != "IDENTITY.tmp") {
      return fail(absl::FailedPreconditionError(absl::StrCat(
          "--data-dir: ", path, " holds data (", name,
          ") but no IDENTITY file; refusing to guess whose it is")));
    }
  }
  if (absl::Status s = WriteFileDurably(path, identity_path, want); !s.ok()) {
    return fail(s);
  }
  return std::unique_ptr<DataDir>(new DataDir(path, lock_fd, /*is_new=*/true));
}

DataDir::~DataDir() { ::close(lock_fd_); }

}  // namespace sluice::node
