// UnaryConsumer (sluice_bench_consume.h): Receive + Delete in a loop.
#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/sluice_bench_consume.h"

namespace sluice::bench {
namespace {

constexpr int kDeleteAttempts = 3;

class UnaryConsumer final : public Consumer {
 public:
  UnaryConsumer(ConsumerConfig config, ConsumeSink* sink)
      : config_(std::move(config)), sink_(sink) {}
  ~UnaryConsumer() override { Wait(); }

  void Start() override {
    thread_ = std::thread([this] { Run(); });
  }
  void Wait() override {
    if (thread_.joinable()) thread_.join();
  }
  ConsumerStats stats() const override {
    absl::MutexLock lock(&mu_);
    return stats_;
  }
  bool Ready() const override { return true; }

 private:
  v1::Queues::Stub* Stub(size_t i) {
    if (stubs_.empty()) stubs_.resize(config_.addresses.size());
    if (!stubs_[i]) {
      stubs_[i] = v1::Queues::NewStub(NewChannel(config_.addresses[i]));
    }
    return stubs_[i].get();
  }

  void Failed(size_t* i, const grpc::Status& status,
              const grpc::ClientContext& context, const char* what) {
    const std::string error = ToAbsl(status, &context).ToString();
    uint64_t errors = 0;
    {
      absl::MutexLock lock(&mu_);
      errors = ++stats_.rpc_errors;
      stats_.last_error = error;
    }
    if (errors <= 5 || errors % 100 == 0) {
      Log(absl::StrCat(what, " via ", config_.addresses[*i], ": ", error, " (",
                       errors, " errors so far)"));
    }
    *i = (*i + 1) % config_.addresses.size();
    SleepUntilNs(NowNs() + 100000000);
  }

  void Run() {
    size_t i = config_.first_address % config_.addresses.size();
    while (!sink_->Done()) {
      v1::ReceiveRequest request;
      request.set_queue_name(config_.queue);
      request.set_max_messages(static_cast<uint32_t>(config_.batch));
      request.mutable_wait_time()->set_seconds(1);
      v1::ReceiveResponse response;
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(1000 + config_.rpc_timeout_ms));
      grpc::Status status = Stub(i)->Receive(&context, request, &response);
      if (!status.ok()) {
        Failed(&i, status, context, "Receive");
        continue;
      }
      if (response.messages_size() == 0) continue;
      sink_->OnMessages(response.messages(), NowNs());
      Delete(&i, response);
    }
  }

  // Deletes what `received` leased, retrying retryable failures.
  void Delete(size_t* i, const v1::ReceiveResponse& received) {
    v1::DeleteRequest request;
    request.set_queue_name(config_.queue);
    for (int k = 0; k < received.messages_size(); ++k) {
      v1::DeleteEntry* e = request.add_entries();
      e->set_entry_id(absl::StrCat(k));
      e->set_receipt_handle(received.messages(k).receipt_handle());
    }
    const uint64_t n = static_cast<uint64_t>(request.entries_size());
    for (int attempt = 1; attempt <= kDeleteAttempts; ++attempt) {
      v1::DeleteResponse response;
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(config_.rpc_timeout_ms));
      grpc::Status status = Stub(*i)->Delete(&context, request, &response);
      if (status.ok()) {
        uint64_t ok = 0;
        for (const v1::DeleteResult& r : response.results()) {
          if (r.status().code() == 0) ++ok;
        }
        sink_->OnAcked(ok, n - ok);
        return;
      }
      Failed(i, status, context, "Delete");
      if (!Retryable(status.error_code())) break;
    }
    sink_->OnAcked(0, n);
  }

  const ConsumerConfig config_;
  ConsumeSink* const sink_;
  std::vector<std::unique_ptr<v1::Queues::Stub>> stubs_;  // Run's thread
  std::thread thread_;
  mutable absl::Mutex mu_;
  ConsumerStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Consumer> NewUnaryConsumer(ConsumerConfig config,
                                           ConsumeSink* sink) {
  return std::make_unique<UnaryConsumer>(std::move(config), sink);
}

}  // namespace sluice::bench
