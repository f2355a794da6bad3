// StreamConsumer (sluice_bench_consume.h): one StreamSession per stream, and
// the thread that opens them one after another until the sink is done.
#include <atomic>
#include <deque>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/sluice_bench_consume.h"

namespace sluice::bench {
namespace {

using Request = v1::StreamReceiveRequest;
using Response = v1::StreamReceiveResponse;

constexpr int64_t kCloseGraceNs = 2000000000;  // WritesDone → OnDone
constexpr int64_t kSilenceNs = 15000000000;    // 3 heartbeat intervals
constexpr int kMaxHandlesPerItem = 1000;

// One StreamReceive call. Writes go through a queue (one write in flight at
// a time, as gRPC requires). No gRPC operation is started while mu_ is held,
// because gRPC may run a reaction inline when an operation fails at once.
class StreamSession final : public grpc::ClientBidiReactor<Request, Response> {
 public:
  StreamSession(v1::Queues::Stub* stub, const ConsumerConfig& config,
                ConsumeSink* sink, std::atomic<bool>* ready)
      : stub_(stub), config_(config), sink_(sink), ready_(ready) {}

  // Opens the stream; `resend` are handles whose acks an earlier stream did
  // not see confirmed.
  void Begin(const std::vector<std::string>& resend) {
    {
      absl::MutexLock lock(&mu_);
      last_heard_ns_ = NowNs();
    }
    stub_->async()->StreamReceive(&context_, this);
    Request start;
    v1::StreamStart* s = start.mutable_start();
    s->set_queue_name(config_.queue);
    s->set_client_id("sluice-bench");
    s->mutable_initial_credits()->set_messages(
        static_cast<uint32_t>(config_.batch));
    Enqueue(std::move(start));
    for (size_t i = 0; i < resend.size(); i += kMaxHandlesPerItem) {
      std::vector<std::string> chunk(
          resend.begin() + static_cast<std::ptrdiff_t>(i),
          resend.begin() + static_cast<std::ptrdiff_t>(std::min(
                               resend.size(), i + kMaxHandlesPerItem)));
      Ack(std::move(chunk));
    }
    StartRead(&incoming_);
    AddHold();
    StartCall();
  }

  // Blocks until the stream ended. Asks the server to end it (WritesDone)
  // once the sink is done; cancels it if that takes too long or the server
  // has been silent for three heartbeat intervals.
  //
  // WritesDone is started from this (non-reaction) thread, so the stream
  // carries a hold (AddHold in Begin) until then: without it gRPC could
  // finish the call, and free it, just before. The hold goes once close is
  // requested or the read side has ended, whichever comes first.
  grpc::Status Await() {
    int64_t close_requested_ns = 0;
    bool hold = true;
    for (;;) {
      bool cancel = false, read_closed = false;
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Milliseconds(100));
        if (done_) return status_;
        const int64_t now = NowNs();
        if (close_requested_ns != 0 && now - close_requested_ns > kCloseGraceNs)
          cancel = true;
        if (now - last_heard_ns_ > kSilenceNs) cancel = true;
        read_closed = read_closed_;
      }
      if (hold && close_requested_ns == 0 && !read_closed && sink_->Done()) {
        close_requested_ns = NowNs();
        RequestClose();
      }
      if (hold && (close_requested_ns != 0 || read_closed)) {
        RemoveHold();
        hold = false;
      }
      if (cancel) context_.TryCancel();
    }
  }

  // Handles whose acks were sent but not confirmed; call after Await.
  std::vector<std::string> Unconfirmed() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (auto& [id, handles] : unconfirmed_) {
      for (std::string& h : handles) out.push_back(std::move(h));
    }
    unconfirmed_.clear();
    return out;
  }

  std::string LeaderHint() { return Trailer(context_, "sluice-leader"); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the stream is over; OnDone follows (once the hold goes)
      absl::MutexLock lock(&mu_);
      read_closed_ = true;
      return;
    }
    const int64_t now = NowNs();
    {
      absl::MutexLock lock(&mu_);
      last_heard_ns_ = now;
    }
    switch (incoming_.item_case()) {
      case Response::kStarted:
        ready_->store(true);
        break;
      case Response::kMessages: {
        const auto& messages = incoming_.messages().messages();
        sink_->OnMessages(messages, now);
        std::vector<std::string> handles;
        handles.reserve(static_cast<size_t>(messages.size()));
        for (const v1::Message& m : messages) {
          handles.push_back(m.receipt_handle());
        }
        const uint32_t n = static_cast<uint32_t>(handles.size());
        if (n > 0) {
          Ack(std::move(handles));
          Request credits;
          credits.mutable_credits()->set_messages(n);
          Enqueue(std::move(credits));
        }
        break;
      }
      case Response::kResults:
        for (const v1::StreamItemResult& r : incoming_.results().results()) {
          Confirmed(r);
        }
        break;
      default:  // heartbeats: only proof of life
        break;
    }
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    const Request* next = nullptr;
    bool writes_done = false;
    {
      absl::MutexLock lock(&mu_);
      outbox_.pop_front();
      if (!ok) {  // the stream broke; OnDone follows
        write_failed_ = true;
        writing_ = false;
        outbox_.clear();
        return;
      }
      if (!outbox_.empty()) {
        next = &outbox_.front();
      } else {
        writing_ = false;
        if (close_requested_ && !writes_done_)
          writes_done = writes_done_ = true;
      }
    }
    if (next != nullptr) StartWrite(next);
    if (writes_done) StartWritesDone();
  }

  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

 private:
  void Ack(std::vector<std::string> handles) {
    Request ack;
    ack.set_correlation_id(next_correlation_++);
    for (const std::string& h : handles)
      ack.mutable_ack()->add_receipt_handles(h);
    {
      absl::MutexLock lock(&mu_);
      unconfirmed_[ack.correlation_id()] = std::move(handles);
    }
    Enqueue(std::move(ack));
  }

  void Confirmed(const v1::StreamItemResult& r) {
    if (r.correlation_id() == 0) {
      // A failure of a credits item (the server reports only those).
      if (r.status().code() != 0) {
        Log(absl::StrCat("stream item failed: ", CodeName(r.status().code()),
                         " ", r.status().message()));
      }
      return;
    }
    uint64_t ok = 0, failed = 0;
    {
      absl::MutexLock lock(&mu_);
      auto it = unconfirmed_.find(r.correlation_id());
      if (it == unconfirmed_.end()) return;
      const uint64_t n = it->second.size();
      if (r.receipt_results_size() > 0) {
        for (const v1::ReceiptResult& rr : r.receipt_results()) {
          (rr.status().code() == 0 ? ok : failed) += 1;
        }
      } else if (r.status().code() == 0) {
        ok = n;
      } else {
        failed = n;
      }
      unconfirmed_.erase(it);
    }
    sink_->OnAcked(ok, failed);
  }

  void Enqueue(Request item) {
    const Request* write = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (writes_done_ || write_failed_) return;
      outbox_.push_back(std::move(item));
      if (!writing_) {
        writing_ = true;
        write = &outbox_.front();
      }
    }
    if (write != nullptr) StartWrite(write);
  }

  void RequestClose() {
    bool writes_done = false;
    {
      absl::MutexLock lock(&mu_);
      if (close_requested_) return;
      close_requested_ = true;
      if (!writing_ && !writes_done_ && !write_failed_) {
        writes_done = writes_done_ = true;
      }
    }
    if (writes_done) StartWritesDone();
  }

  v1::Queues::Stub* const stub_;
  const ConsumerConfig& config_;
  ConsumeSink* const sink_;
  std::atomic<bool>* const ready_;
  grpc::ClientContext context_;
  Response incoming_;  // the reads are sequential: OnReadDone's thread only
  uint64_t next_correlation_ = 1;  // OnReadDone's thread (and Begin)

  absl::Mutex mu_;
  std::deque<Request> outbox_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool close_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  int64_t last_heard_ns_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::vector<std::string>> unconfirmed_
      ABSL_GUARDED_BY(mu_);
};

class StreamConsumer final : public Consumer {
 public:
  StreamConsumer(ConsumerConfig config, ConsumeSink* sink)
      : config_(std::move(config)), sink_(sink) {}
  ~StreamConsumer() override { Wait(); }

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
  bool Ready() const override { return ready_.load(); }

 private:
  v1::Queues::Stub* Stub(size_t i) {
    if (stubs_.empty()) stubs_.resize(config_.addresses.size());
    if (!stubs_[i]) {
      stubs_[i] = v1::Queues::NewStub(NewChannel(config_.addresses[i]));
    }
    return stubs_[i].get();
  }

  void Run() {
    size_t i = config_.first_address % config_.addresses.size();
    std::vector<std::string> resend;
    while (!sink_->Done()) {
      StreamSession session(Stub(i), config_, sink_, &ready_);
      session.Begin(resend);
      {
        absl::MutexLock lock(&mu_);
        ++stats_.streams;
      }
      const grpc::Status status = session.Await();
      resend = session.Unconfirmed();
      if (sink_->Done()) break;
      if (!status.ok()) {
        const std::string error = ToAbsl(status).ToString();
        {
          absl::MutexLock lock(&mu_);
          ++stats_.rpc_errors;
          stats_.last_error = error;
        }
        Log(absl::StrCat("stream via ", config_.addresses[i], " ended: ", error,
                         "; reopening"));
        i = NextAddress(i, session.LeaderHint());
      }
      SleepUntilNs(NowNs() + 200000000);
    }
  }

  // The hinted leader if it is one of ours, else the next address.
  size_t NextAddress(size_t i, const std::string& hint) const {
    for (size_t j = 0; j < config_.addresses.size(); ++j) {
      if (!hint.empty() && config_.addresses[j] == hint) return j;
    }
    return (i + 1) % config_.addresses.size();
  }

  const ConsumerConfig config_;
  ConsumeSink* const sink_;
  std::vector<std::unique_ptr<v1::Queues::Stub>> stubs_;  // Run's thread
  std::thread thread_;
  std::atomic<bool> ready_{false};
  mutable absl::Mutex mu_;
  ConsumerStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Consumer> NewStreamConsumer(ConsumerConfig config,
                                            ConsumeSink* sink) {
  return std::make_unique<StreamConsumer>(std::move(config), sink);
}

}  // namespace sluice::bench
