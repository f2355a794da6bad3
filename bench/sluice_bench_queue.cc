#include "bench/sluice_bench_queue.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/sluice_bench_watchdog.h"

namespace sluice::bench {

QueueAdmin::QueueAdmin(const std::vector<std::string>& addresses)
    : addresses_(addresses) {
  for (const std::string& a : addresses_) {
    stubs_.push_back(v1::Queues::NewStub(NewChannel(a)));
  }
}

absl::Status QueueAdmin::CreateQueue(const std::string& name,
                                     uint32_t partitions, uint32_t replication,
                                     int64_t timeout_ms) {
  const int64_t give_up = NowNs() + timeout_ms * 1000000;
  v1::CreateQueueRequest request;
  request.set_queue_name(name);
  request.set_type(v1::QUEUE_TYPE_STANDARD);
  request.mutable_attributes()->set_partition_count(partitions);
  request.mutable_attributes()->set_replication_factor(replication);
  absl::Status last = absl::DeadlineExceededError("no node answered");
  for (size_t attempt = 0; NowNs() < give_up; ++attempt) {
    const size_t i = attempt % stubs_.size();
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(10000));
    v1::CreateQueueResponse response;
    grpc::Status s = stubs_[i]->CreateQueue(&context, request, &response);
    if (s.ok()) return absl::OkStatus();
    last = ToAbsl(s, &context);
    if (!Retryable(s.error_code())) {
      return absl::Status(last.code(),
                          absl::StrCat("CreateQueue via ", addresses_[i], ": ",
                                       last.message()));
    }
    Log(absl::StrCat("CreateQueue via ", addresses_[i], ": ", last.ToString(),
                     "; retrying"));
    SleepUntilNs(NowNs() + 200000000);
  }
  return last;
}

absl::StatusOr<v1::GetQueueResponse> QueueAdmin::GetQueue(
    const std::string& name, int64_t per_call_ms) {
  v1::GetQueueRequest request;
  request.set_queue_name(name);
  absl::Status last = absl::UnavailableError("no node answered");
  for (size_t i = 0; i < stubs_.size(); ++i) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(per_call_ms));
    v1::GetQueueResponse response;
    grpc::Status s = stubs_[i]->GetQueue(&context, request, &response);
    if (s.ok()) return response;
    last = ToAbsl(s, &context);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return last;
  }
  return last;
}

absl::StatusOr<v1::GetQueueResponse> QueueAdmin::WaitForLeaders(
    const std::string& name, int64_t timeout_ms) {
  const int64_t give_up = NowNs() + timeout_ms * 1000000;
  absl::Status last = absl::DeadlineExceededError("no leaders yet");
  while (NowNs() < give_up) {
    absl::StatusOr<v1::GetQueueResponse> r = GetQueue(name, 2000);
    if (r.ok()) {
      bool all = r->partition_routes_size() > 0;
      for (const v1::PartitionRoute& route : r->partition_routes()) {
        all = all && route.leader_node_id() != 0 &&
              !route.leader_address().empty();
      }
      if (all) return r;
      last = absl::DeadlineExceededError(
          absl::StrCat("partitions without a leader: ", r->ShortDebugString()));
    } else {
      last = r.status();
    }
    SleepUntilNs(NowNs() + 100000000);
  }
  return last;
}

absl::Status QueueAdmin::DeleteQueue(const std::string& name,
                                     int64_t timeout_ms) {
  const int64_t give_up = NowNs() + timeout_ms * 1000000;
  v1::DeleteQueueRequest request;
  request.set_queue_name(name);
  absl::Status last = absl::DeadlineExceededError("no node answered");
  for (size_t attempt = 0; NowNs() < give_up; ++attempt) {
    const size_t i = attempt % stubs_.size();
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(5000));
    v1::DeleteQueueResponse response;
    grpc::Status s = stubs_[i]->DeleteQueue(&context, request, &response);
    if (s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND) {
      return absl::OkStatus();
    }
    last = ToAbsl(s, &context);
    if (!Retryable(s.error_code())) return last;
    SleepUntilNs(NowNs() + 200000000);
  }
  return last;
}

std::string RandomHex(int digits) {
  static std::random_device device;
  std::mt19937_64 gen(device());
  std::string out;
  while (static_cast<int>(out.size()) < digits) {
    absl::StrAppend(&out, absl::Hex(gen(), absl::kZeroPad16));
  }
  return out.substr(0, static_cast<size_t>(digits));
}

std::string RandomQueueName(const std::string& scenario) {
  return absl::StrCat("bench-", scenario, "-", RandomHex(8));
}

ScopedQueue::ScopedQueue(const BenchFlags& flags, QueueAdmin& admin)
    : flags_(flags),
      admin_(admin),
      name_(flags.queue.empty() ? RandomQueueName(flags.scenario)
                                : flags.queue) {}

absl::Status ScopedQueue::Create() {
  Log(
      absl::StrFormat("creating queue %s (standard, %d partition(s), "
                      "replication %d)",
                      name_, flags_.partitions, flags_.replication));
  if (absl::Status s = admin_.CreateQueue(name_, flags_.partitions,
                                          flags_.replication, 30000);
      !s.ok()) {
    return s;
  }
  created_ = true;
  if (!flags_.keep) {
    watchdog_id_ = Watchdog::Get().Register(
        absl::StrCat("deleting queue ", name_),
        [addresses = flags_.addresses, name = name_] {
          // A QueueAdmin of its own: the scenario's may be gone by then.
          absl::Status s = QueueAdmin(addresses).DeleteQueue(name, 5000);
          Log(absl::StrCat("delete queue ", name, ": ", s.ToString()));
        });
  }
  absl::StatusOr<v1::GetQueueResponse> r = admin_.WaitForLeaders(name_, 30000);
  if (!r.ok()) {
    return absl::Status(r.status().code(),
                        absl::StrCat("queue ", name_, " has no leaders: ",
                                     r.status().message()));
  }
  routes_ = *std::move(r);
  for (const v1::PartitionRoute& route : routes_.partition_routes()) {
    Log(absl::StrFormat("partition %d: leader node %d at %s", route.partition(),
                        route.leader_node_id(), route.leader_address()));
  }
  return absl::OkStatus();
}

ScopedQueue::~ScopedQueue() {
  if (!created_) return;
  if (watchdog_id_ != 0) Watchdog::Get().Unregister(watchdog_id_);
  if (flags_.keep) {
    Log(absl::StrCat("keeping queue ", name_, " (--keep)"));
    return;
  }
  absl::Status s = admin_.DeleteQueue(name_, 15000);
  Log(s.ok()
          ? absl::StrCat("deleted queue ", name_)
          : absl::StrCat("could not delete queue ", name_, ": ", s.ToString()));
}

}  // namespace sluice::bench
