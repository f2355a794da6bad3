#include "sluice/client/client.h"

#include <future>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/cpp/src/connection.h"
#include "client/cpp/src/consumer_impl.h"
#include "client/cpp/src/producer_engine.h"
#include "client/cpp/src/rpc_status.h"
#include "google/protobuf/util/time_util.h"

namespace sluice::client {
namespace {

using google::protobuf::util::TimeUtil;
using internal::FromGrpc;

google::protobuf::Duration ToProto(absl::Duration d) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

absl::Status CheckOptions(const ClientOptions& options) {
  if (options.seeds.empty()) {
    return absl::InvalidArgumentError("seeds: give at least one node address");
  }
  for (const std::string& seed : options.seeds) {
    if (seed.empty() || seed.find(':') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("seeds: '", seed, "' is not host:port"));
    }
  }
  for (char c : options.producer_name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      return absl::InvalidArgumentError(
          "producer_name: only [A-Za-z0-9_-] are allowed");
    }
  }
  if (options.default_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("default_timeout: must be positive");
  }
  return absl::OkStatus();
}

// A unary call that any node serves, retried until the deadline.
template <typename Call>
absl::Status AnyNode(internal::Connection& connection,
                     std::optional<absl::Duration> timeout, const Call& call) {
  const absl::Time deadline = connection.DeadlineIn(timeout);
  return connection.Retry(
      deadline, "", [&](const std::string& address, grpc::ClientContext& c) {
        connection.SetAttemptDeadline(c, deadline);
        return FromGrpc(call(address, c), &c);
      });
}

}  // namespace

absl::StatusOr<std::shared_ptr<Client>> Client::Connect(ClientOptions options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  return std::shared_ptr<Client>(
      new Client(std::make_shared<internal::Connection>(std::move(options))));
}

Client::Client(std::shared_ptr<internal::Connection> connection)
    : connection_(std::move(connection)) {}

Client::~Client() = default;

absl::StatusOr<v1::CreateQueueResponse> Client::CreateQueue(
    const v1::CreateQueueRequest& request,
    std::optional<absl::Duration> timeout) {
  v1::CreateQueueResponse response;
  absl::Status s = AnyNode(
      *connection_, timeout, [&](const std::string& a, grpc::ClientContext& c) {
        return connection_->Queues(a).CreateQueue(&c, request, &response);
      });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::GetQueueResponse> Client::GetQueue(
    const std::string& queue, std::optional<absl::Duration> timeout) {
  v1::GetQueueRequest request;
  request.set_queue_name(queue);
  v1::GetQueueResponse response;
  absl::Status s = AnyNode(
      *connection_, timeout, [&](const std::string& a, grpc::ClientContext& c) {
        return connection_->Queues(a).GetQueue(&c, request, &response);
      });
  if (!s.ok()) return s;
  connection_->routes().Put(internal::RouteFrom(response));
  return response;
}

absl::StatusOr<std::vector<v1::Queue>> Client::ListQueues(
    const std::string& prefix, std::optional<absl::Duration> timeout) {
  std::vector<v1::Queue> queues;
  v1::ListQueuesRequest request;
  request.set_prefix(prefix);
  request.set_page_size(1000);
  do {
    v1::ListQueuesResponse response;
    absl::Status s = AnyNode(*connection_, timeout,
                             [&](const std::string& a, grpc::ClientContext& c) {
                               return connection_->Queues(a).ListQueues(
                                   &c, request, &response);
                             });
    if (!s.ok()) return s;
    for (v1::Queue& q : *response.mutable_queues())
      queues.push_back(std::move(q));
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return queues;
}

absl::StatusOr<v1::Queue> Client::UpdateQueue(
    const v1::UpdateQueueRequest& request,
    std::optional<absl::Duration> timeout) {
  v1::UpdateQueueResponse response;
  absl::Status s = AnyNode(
      *connection_, timeout, [&](const std::string& a, grpc::ClientContext& c) {
        return connection_->Queues(a).UpdateQueue(&c, request, &response);
      });
  if (!s.ok()) return s;
  return response.queue();
}

absl::Status Client::DeleteQueue(const std::string& queue, bool force,
                                 std::optional<absl::Duration> timeout) {
  v1::DeleteQueueRequest request;
  request.set_queue_name(queue);
  request.set_force(force);
  v1::DeleteQueueResponse response;
  absl::Status s = AnyNode(
      *connection_, timeout, [&](const std::string& a, grpc::ClientContext& c) {
        return connection_->Queues(a).DeleteQueue(&c, request, &response);
      });
  {
    absl::MutexLock lock(&mu_);
    engines_.erase(queue);
  }
  connection_->routes().Forget(queue);
  return s;
}

absl::StatusOr<v1::PurgeQueueResponse> Client::PurgeQueue(
    const std::string& queue, std::optional<absl::Duration> timeout) {
  v1::PurgeQueueRequest request;
  request.set_queue_name(queue);
  v1::PurgeQueueResponse response;
  absl::Status s = AnyNode(
      *connection_, timeout, [&](const std::string& a, grpc::ClientContext& c) {
        return connection_->Queues(a).PurgeQueue(&c, request, &response);
      });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::GetQueueStatsResponse> Client::GetQueueStats(
    const v1::GetQueueStatsRequest& request,
    std::optional<absl::Duration> timeout) {
  v1::GetQueueStatsResponse response;
  absl::Status s = AnyNode(
      *connection_, timeout, [&](const std::string& a, grpc::ClientContext& c) {
        return connection_->Queues(a).GetQueueStats(&c, request, &response);
      });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::PeekResponse> Client::Peek(
    const v1::PeekRequest& request, std::optional<absl::Duration> timeout) {
  v1::PeekResponse response;
  absl::Status s = AnyNode(
      *connection_, timeout, [&](const std::string& a, grpc::ClientContext& c) {
        return connection_->Queues(a).Peek(&c, request, &response);
      });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::RedriveTask> Client::StartRedrive(
    const v1::StartRedriveRequest& request,
    std::optional<absl::Duration> timeout) {
  v1::StartRedriveResponse response;
  absl::Status s = AnyNode(
      *connection_, timeout, [&](const std::string& a, grpc::ClientContext& c) {
        return connection_->Queues(a).StartRedrive(&c, request, &response);
      });
  if (!s.ok()) return s;
  return response.task();
}

absl::StatusOr<std::vector<v1::RedriveTask>> Client::ListRedriveTasks(
    const std::string& source_queue, std::optional<absl::Duration> timeout) {
  std::vector<v1::RedriveTask> tasks;
  v1::ListRedriveTasksRequest request;
  request.set_source_queue_name(source_queue);
  request.set_page_size(1000);
  do {
    v1::ListRedriveTasksResponse response;
    absl::Status s = AnyNode(*connection_, timeout,
                             [&](const std::string& a, grpc::ClientContext& c) {
                               return connection_->Queues(a).ListRedriveTasks(
                                   &c, request, &response);
                             });
    if (!s.ok()) return s;
    for (v1::RedriveTask& t : *response.mutable_tasks())
      tasks.push_back(std::move(t));
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return tasks;
}

absl::StatusOr<v1::RedriveTask> Client::CancelRedrive(
    const std::string& task_id, std::optional<absl::Duration> timeout) {
  v1::CancelRedriveRequest request;
  request.set_task_id(task_id);
  v1::CancelRedriveResponse response;
  absl::Status s = AnyNode(
      *connection_, timeout, [&](const std::string& a, grpc::ClientContext& c) {
        return connection_->Queues(a).CancelRedrive(&c, request, &response);
      });
  if (!s.ok()) return s;
  return response.task();
}

absl::StatusOr<v1::GetClusterStatusResponse> Client::GetClusterStatus(
    const v1::GetClusterStatusRequest& request,
    std::optional<absl::Duration> timeout) {
  v1::GetClusterStatusResponse response;
  absl::Status s = AnyNode(
      *connection_, timeout, [&](const std::string& a, grpc::ClientContext& c) {
        return connection_->Cluster(a).GetClusterStatus(&c, request, &response);
      });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<internal::ProducerEngine*> Client::SendEngine(
    const std::string& queue, absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    auto it = engines_.find(queue);
    if (it != engines_.end()) return it->second.get();
  }
  absl::StatusOr<internal::QueueRoute> route =
      connection_->Route(queue, /*refresh=*/false, deadline);
  if (!route.ok()) return route.status();
  ProducerOptions options;
  options.linger = absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  std::unique_ptr<internal::ProducerEngine>& engine = engines_[queue];
  if (engine == nullptr) {
    engine = std::make_unique<internal::ProducerEngine>(connection_, *route,
                                                        options);
  }
  return engine.get();
}

std::vector<absl::StatusOr<SendReceipt>> Client::Send(
    const std::string& queue, std::vector<OutgoingMessage> messages,
    std::optional<absl::Duration> timeout) {
  const absl::Time deadline = connection_->DeadlineIn(timeout);
  std::vector<absl::StatusOr<SendReceipt>> results;
  absl::StatusOr<internal::ProducerEngine*> engine =
      SendEngine(queue, deadline);
  if (!engine.ok()) {
    results.assign(messages.size(), engine.status());
    return results;
  }
  std::vector<std::future<absl::StatusOr<SendReceipt>>> futures;
  futures.reserve(messages.size());
  for (OutgoingMessage& m : messages) {
    auto promise =
        std::make_shared<std::promise<absl::StatusOr<SendReceipt>>>();
    futures.push_back(promise->get_future());
    (*engine)->SendBy(std::move(m), deadline,
                      [promise](absl::StatusOr<SendReceipt> r) {
                        promise->set_value(std::move(r));
                      });
  }
  bool queue_gone = false;
  for (auto& f : futures) {
    results.push_back(f.get());
    queue_gone = queue_gone || absl::IsNotFound(results.back().status());
  }
  if (queue_gone) {
    // Deleted (and maybe created again with another shape): start over.
    connection_->routes().Forget(queue);
    absl::MutexLock lock(&mu_);
    engines_.erase(queue);
  }
  return results;
}

absl::StatusOr<SendReceipt> Client::Send(
    const std::string& queue, OutgoingMessage message,
    std::optional<absl::Duration> timeout) {
  std::vector<OutgoingMessage> one;
  one.push_back(std::move(message));
  return std::move(Send(queue, std::move(one), timeout).front());
}

absl::StatusOr<std::vector<v1::Message>> Client::Receive(
    const std::string& queue, const ReceiveOptions& options,
    std::optional<absl::Duration> timeout) {
  v1::ReceiveRequest request;
  request.set_queue_name(queue);
  request.set_max_messages(static_cast<uint32_t>(options.max_messages));
  if (options.wait.has_value())
    *request.mutable_wait_time() = ToProto(*options.wait);
  if (options.visibility_timeout.has_value()) {
    *request.mutable_visibility_timeout() =
        ToProto(*options.visibility_timeout);
  }
  for (const std::string& name : options.attribute_names) {
    request.add_message_attribute_names(name);
  }
  // A long poll lasts up to 20 s: the attempt gets that much on top.
  const absl::Duration wait = options.wait.value_or(absl::Seconds(20));
  const absl::Time deadline = connection_->DeadlineIn(
      timeout.value_or(connection_->options().default_timeout + wait));
  v1::ReceiveResponse response;
  absl::Status s = connection_->Retry(
      deadline, "", [&](const std::string& address, grpc::ClientContext& c) {
        connection_->SetAttemptDeadline(c, deadline, wait);
        return FromGrpc(
            connection_->Queues(address).Receive(&c, request, &response), &c);
      });
  if (!s.ok()) return s;
  return std::vector<v1::Message>(response.messages().begin(),
                                  response.messages().end());
}

absl::StatusOr<std::vector<absl::Status>> Client::Delete(
    const std::string& queue, const std::vector<std::string>& receipt_handles,
    std::optional<absl::Duration> timeout) {
  std::vector<absl::Status> out;
  for (size_t start = 0; start < receipt_handles.size(); start += 100) {
    v1::DeleteRequest request;
    request.set_queue_name(queue);
    for (size_t i = start; i < std::min(start + 100, receipt_handles.size());
         ++i) {
      v1::DeleteEntry* e = request.add_entries();
      e->set_entry_id(absl::StrCat("d", i - start));
      e->set_receipt_handle(receipt_handles[i]);
    }
    v1::DeleteResponse response;
    absl::Status s =
        AnyNode(*connection_, timeout,
                [&](const std::string& a, grpc::ClientContext& c) {
                  return connection_->Queues(a).Delete(&c, request, &response);
                });
    if (!s.ok()) return s;
    for (const v1::DeleteResult& r : response.results()) {
      out.push_back(internal::FromEntryStatus(r.status()));
    }
  }
  return out;
}

absl::StatusOr<std::vector<absl::StatusOr<absl::Time>>>
Client::ChangeVisibility(const std::string& queue,
                         const std::vector<std::string>& receipt_handles,
                         absl::Duration visibility_timeout,
                         std::optional<absl::Duration> timeout) {
  std::vector<absl::StatusOr<absl::Time>> out;
  for (size_t start = 0; start < receipt_handles.size(); start += 100) {
    v1::ChangeVisibilityRequest request;
    request.set_queue_name(queue);
    for (size_t i = start; i < std::min(start + 100, receipt_handles.size());
         ++i) {
      v1::ChangeVisibilityEntry* e = request.add_entries();
      e->set_entry_id(absl::StrCat("v", i - start));
      e->set_receipt_handle(receipt_handles[i]);
      *e->mutable_visibility_timeout() = ToProto(visibility_timeout);
    }
    v1::ChangeVisibilityResponse response;
    absl::Status s = AnyNode(*connection_, timeout,
                             [&](const std::string& a, grpc::ClientContext& c) {
                               return connection_->Queues(a).ChangeVisibility(
                                   &c, request, &response);
                             });
    if (!s.ok()) return s;
    for (const v1::ChangeVisibilityResult& r : response.results()) {
      absl::Status entry = internal::FromEntryStatus(r.status());
      if (entry.ok()) {
        out.push_back(absl::FromUnixNanos(
            TimeUtil::TimestampToNanoseconds(r.lease_deadline())));
      } else {
        out.push_back(entry);
      }
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Producer>> Client::NewProducer(
    const std::string& queue, const ProducerOptions& options) {
  absl::StatusOr<internal::QueueRoute> route = connection_->Route(
      queue, /*refresh=*/true, connection_->DeadlineIn(std::nullopt));
  if (!route.ok()) return route.status();
  return std::make_unique<internal::ProducerEngine>(connection_, *route,
                                                    options);
}

absl::StatusOr<std::unique_ptr<Consumer>> Client::NewConsumer(
    const std::string& queue, ConsumerOptions options,
    Consumer::Handler handler) {
  if (!handler) return absl::InvalidArgumentError("handler: required");
  if (options.concurrency < 1) {
    return absl::InvalidArgumentError("concurrency: must be at least 1");
  }
  absl::StatusOr<internal::QueueRoute> route = connection_->Route(
      queue, /*refresh=*/true, connection_->DeadlineIn(std::nullopt));
  if (!route.ok()) return route.status();
  return internal::StartConsumer(connection_, queue, std::move(options),
                                 std::move(handler));
}

}  // namespace sluice::client
