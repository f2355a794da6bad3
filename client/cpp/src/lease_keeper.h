// Keeps the leases of messages whose handlers are running: says which need
// an extension now (a third of the lease left), remembers which extensions
// are in flight, and stops extending a message max_extension after it was
// delivered. Deadlines are counted from when this client got the message or
// asked for the extension, which is later than when the server started the
// lease, so the estimate errs on the early side.
//
// Pure logic, not thread-safe; time comes in as arguments.
#ifndef SLUICE_CLIENT_CPP_SRC_LEASE_KEEPER_H_
#define SLUICE_CLIENT_CPP_SRC_LEASE_KEEPER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace sluice::client::internal {

class LeaseKeeper {
 public:
  LeaseKeeper(absl::Duration lease, absl::Duration max_extension);

  absl::Duration lease() const { return lease_; }
  void set_lease(absl::Duration lease) { lease_ = lease; }

  void Track(const std::string& handle, absl::Time received);
  void Forget(const std::string& handle);
  bool Tracked(const std::string& handle) const;
  size_t size() const { return leases_.size(); }

  // Handles to extend now; each is then in flight until Extended or Lost,
  // or asked again if no answer came within a sixth of the lease.
  std::vector<std::string> Due(absl::Time now);
  // The server confirmed the extension asked for at `asked`.
  void Extended(const std::string& handle, absl::Time asked);
  // The extension was refused (or the server said the lease ran out).
  void Lost(const std::string& handle) { Forget(handle); }
  // When Due next has something (for the caller's timer).
  std::optional<absl::Time> NextDue() const;
  // Local estimate of when the handle's lease ends.
  std::optional<absl::Time> Deadline(const std::string& handle) const;

 private:
  struct Lease {
    absl::Time received;
    absl::Time deadline;
    std::optional<absl::Time> asked;  // extension in flight since
  };
  absl::Time DueAt(const Lease& lease) const;

  absl::Duration lease_;
  absl::Duration max_extension_;
  absl::flat_hash_map<std::string, Lease> leases_;
};

}  // namespace sluice::client::internal

#endif  // SLUICE_CLIENT_CPP_SRC_LEASE_KEEPER_H_
