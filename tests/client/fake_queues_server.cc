#include "tests/client/fake_queues_server.h"

#include "absl/strings/str_cat.h"

namespace sluice::client::testing {

v1::SendResponse FakePartitions::Apply(const v1::SendRequest& request) {
  absl::MutexLock lock(&mu_);
  v1::SendResponse response;
  std::map<uint32_t, uint64_t> next;
  for (const v1::ProducerSequence& s : request.producer_sequences()) {
    next[s.partition()] = s.first_sequence();
  }
  std::map<uint32_t, bool> gap;
  for (const auto& [p, first] : next) {
    gap[p] = first > last_[{request.producer_id(), p}] + 1;
  }
  for (const v1::SendEntry& e : request.entries()) {
    v1::SendResult* r = response.add_results();
    r->set_entry_id(e.entry_id());
    const uint32_t p = e.partition();
    const uint64_t seq = next[p]++;
    uint64_t& last = last_[{request.producer_id(), p}];
    if (gap[p]) {
      r->mutable_status()->set_code(
          static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
      r->mutable_status()->set_reason(v1::ERROR_REASON_PRODUCER_SEQUENCE_GAP);
      continue;
    }
    auto key = std::make_tuple(request.producer_id(), p, seq);
    if (seq <= last) {
      auto it = results_.find(key);
      if (it == results_.end()) {
        r->mutable_status()->set_code(
            static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
        r->mutable_status()->set_reason(
            v1::ERROR_REASON_PRODUCER_SEQUENCE_STALE);
        continue;
      }
      *r = it->second;
      r->set_entry_id(e.entry_id());
      r->set_duplicate(true);
      continue;
    }
    last = seq;
    bodies_.push_back(e.body());
    r->set_message_id(absl::StrCat("m", bodies_.size()));
    r->set_partition(p);
    r->set_sequence_number(bodies_.size());
    results_[key] = *r;
  }
  return response;
}

std::vector<std::string> FakePartitions::bodies() const {
  absl::MutexLock lock(&mu_);
  return bodies_;
}

FakeQueuesServer::FakeQueuesServer(std::shared_ptr<FakePartitions> partitions)
    : partitions_(std::move(partitions)) {
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
  address_ = absl::StrCat("127.0.0.1:", port);
}

FakeQueuesServer::~FakeQueuesServer() { server_->Shutdown(); }

void FakeQueuesServer::set_route(const v1::GetQueueResponse& route) {
  absl::MutexLock lock(&mu_);
  route_ = route;
}

void FakeQueuesServer::FailSends(std::vector<SendFailure> failures) {
  absl::MutexLock lock(&mu_);
  failures_.assign(failures.begin(), failures.end());
}

void FakeQueuesServer::FailAllSends(grpc::StatusCode code) {
  absl::MutexLock lock(&mu_);
  fail_all_ = code;
}

std::vector<v1::SendRequest> FakeQueuesServer::sends() const {
  absl::MutexLock lock(&mu_);
  return sends_;
}

int FakeQueuesServer::get_queue_calls() const {
  absl::MutexLock lock(&mu_);
  return get_queue_calls_;
}

grpc::Status FakeQueuesServer::GetQueue(grpc::ServerContext*,
                                        const v1::GetQueueRequest* request,
                                        v1::GetQueueResponse* response) {
  absl::MutexLock lock(&mu_);
  ++get_queue_calls_;
  if (request->queue_name() != route_.queue().queue_name()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such queue");
  }
  *response = route_;
  return grpc::Status::OK;
}

grpc::Status FakeQueuesServer::Send(grpc::ServerContext* context,
                                    const v1::SendRequest* request,
                                    v1::SendResponse* response) {
  SendFailure failure;
  bool fail = false;
  {
    absl::MutexLock lock(&mu_);
    sends_.push_back(*request);
    if (request->queue_name() != route_.queue().queue_name()) {
      context->AddTrailingMetadata("sluice-error-reason", "QUEUE_NOT_FOUND");
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such queue");
    }
    if (fail_all_ != grpc::StatusCode::OK) {
      return grpc::Status(fail_all_, "scripted failure");
    }
    if (!failures_.empty()) {
      failure = failures_.front();
      failures_.pop_front();
      fail = true;
    }
  }
  if (fail) {
    if (failure.apply_first) partitions_->Apply(*request);
    if (!failure.leader_hint.empty()) {
      context->AddTrailingMetadata("sluice-leader", failure.leader_hint);
    }
    return grpc::Status(failure.code, "scripted failure");
  }
  *response = partitions_->Apply(*request);
  return grpc::Status::OK;
}

v1::GetQueueResponse Route(const std::string& name,
                           const std::vector<std::string>& leaders, bool fifo) {
  v1::GetQueueResponse r;
  r.mutable_queue()->set_queue_name(name);
  r.mutable_queue()->set_type(fifo ? v1::QUEUE_TYPE_FIFO
                                   : v1::QUEUE_TYPE_STANDARD);
  r.mutable_queue()->mutable_attributes()->set_partition_count(
      static_cast<uint32_t>(leaders.size()));
  for (size_t i = 0; i < leaders.size(); ++i) {
    v1::PartitionRoute* p = r.add_partition_routes();
    p->set_partition(static_cast<uint32_t>(i));
    p->set_leader_address(leaders[i]);
  }
  return r;
}

}  // namespace sluice::client::testing
