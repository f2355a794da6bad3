// The node's loop-thread request handling over a real NodeHost (one node,
// real LevelDB): a partition is served only once its attributes are
// committed, long polls wake on sends and end at their deadline on the
// injected clock, and errors that prove nothing was proposed say so.
#include "broker/api/local_executor.h"

#include <memory>

#include "broker/api/partition_leaders.h"
#include "broker/host/host_errors.h"
#include "broker/meta/queue_config.h"
#include "broker/partition/entry_status.h"
#include "broker/partition/proto_time.h"
#include "gtest/gtest.h"
#include "tests/broker/host/host_test_util.h"

namespace sluice::broker::testing {
namespace {

using sluice::internal::ForwardRequest;
using sluice::internal::ForwardResponse;

constexpr raft::GroupId kGroup{7};

class LocalExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PartitionLeaders::Options options;
    options.clock = &clock_;
    options.wall_clock = &wall_;
    leaders_ = std::make_unique<PartitionLeaders>(options);
    executor_ = std::make_unique<LocalExecutor>(*leaders_, &clock_);
    PartitionLeaders* leaders = leaders_.get();
    cluster_ =
        std::make_unique<HostCluster>(1, [leaders](NodeHost::Options& o) {
          o.on_leader_change = [leaders](const GroupStatus& s) {
            leaders->OnLeaderChange(s);
          };
        });
    leaders_->set_host(cluster_->host(1));
    OnLoop([this] { leaders_->OnMetadata(Metadata()); });
    cluster_->CreateGroup(kGroup);
    ASSERT_TRUE(cluster_->WaitForLeader(kGroup).has_value());
    ASSERT_TRUE(Served());
  }

  void TearDown() override {
    OnLoop([this] { leaders_->Shutdown(); });
    cluster_.reset();
  }

  static sluice::internal::MetadataState Metadata(
      const v1::QueueAttributes& given = {}, int64_t updated_micros = 1) {
    sluice::internal::MetadataState state;
    auto* q = state.add_queues();
    q->set_name("q");
    q->set_queue_id(kGroup.value());
    q->set_updated_micros(updated_micros);
    auto attributes = meta::ResolveAttributes(given, false, 1);
    *q->mutable_public_attributes() = *attributes;
    *q->mutable_attributes() =
        meta::ToInternalAttributes(*attributes, false, "q");
    auto* p = q->add_partitions();
    p->set_partition(0);
    p->set_group_id(kGroup.value());
    p->add_replicas(1);
    p->set_preferred_leader(1);
    return state;
  }

  // Serves the queue with new attributes (as an UpdateQueue would) once the
  // partition leader has committed them.
  void Reconfigure(const v1::QueueAttributes& given, int64_t updated_micros) {
    OnLoop([&] { leaders_->OnMetadata(Metadata(given, updated_micros)); });
    ASSERT_TRUE(Served());
  }

  // Whether the partition is served (its attributes committed; ticks retry
  // the proposal) before PollUntil's deadline.
  bool Served() {
    return PollUntil([this] {
      bool ready = false;
      OnLoop([&] {
        leaders_->Tick();
        ready = leaders_->Find(kGroup).ok();
      });
      return ready;
    });
  }

  // Runs `fn` on the host's loop thread and waits for it.
  void OnLoop(std::function<void()> fn) {
    Latch done;
    cluster_->host(1)->Post([&] {
      fn();
      done.Notify();
    });
    done.Wait();
  }

  // Starts `request` on the loop; the answer lands in the returned slot.
  struct Pending {
    Latch done;
    absl::StatusOr<ForwardResponse> response = absl::UnknownError("none");
  };
  std::shared_ptr<Pending> Start(ForwardRequest request,
                                 absl::Duration budget = absl::Seconds(30)) {
    auto pending = std::make_shared<Pending>();
    request.mutable_target()->set_group_id(kGroup.value());
    request.mutable_target()->set_queue_id(kGroup.value());
    OnLoop([&] {
      executor_->Execute(request, budget,
                         [pending](absl::StatusOr<ForwardResponse> r) {
                           pending->response = std::move(r);
                           pending->done.Notify();
                         });
    });
    return pending;
  }

  absl::StatusOr<ForwardResponse> Run(ForwardRequest request) {
    auto pending = Start(std::move(request));
    pending->done.Wait();
    return pending->response;
  }

  static ForwardRequest Send(const std::string& body) {
    ForwardRequest request;
    auto* e = request.mutable_send()->add_entries();
    e->set_entry_id("e");
    e->set_body(body);
    return request;
  }

  static ForwardRequest Receive(absl::Duration wait) {
    ForwardRequest request;
    request.mutable_receive()->set_max_messages(10);
    *request.mutable_receive()->mutable_wait_time() = ToProtoDuration(wait);
    return request;
  }

  ManualClock clock_{absl::FromUnixSeconds(50)};
  ManualClock wall_{absl::FromUnixSeconds(1'700'000'000)};
  std::unique_ptr<PartitionLeaders> leaders_;
  std::unique_ptr<LocalExecutor> executor_;
  std::unique_ptr<HostCluster> cluster_;
};

TEST_F(LocalExecutorTest, SendThenReceive) {
  auto sent = Run(Send("hello"));
  ASSERT_TRUE(sent.ok()) << sent.status();
  ASSERT_EQ(sent->send().results_size(), 1);
  EXPECT_EQ(sent->send().results(0).status().code(), 0);
  auto received = Run(Receive(absl::ZeroDuration()));
  ASSERT_TRUE(received.ok()) << received.status();
  ASSERT_EQ(received->receive().messages_size(), 1);
  EXPECT_EQ(received->receive().messages(0).body(), "hello");
}

// max_backlog_messages and max_backlog_bytes (one partition: the whole
// limit) refuse the send that would pass them, with the reason and a retry
// hint; deleting makes room again.
TEST_F(LocalExecutorTest, SendsBeyondTheBacklogLimitsAreRefused) {
  v1::QueueAttributes limits;
  limits.set_max_backlog_messages(3);
  Reconfigure(limits, 2);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Run(Send("0123456789")).ok()) << i;
  absl::StatusOr<ForwardResponse> full = Run(Send("x"));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(full.status()), v1::ERROR_REASON_BACKLOG_LIMIT_EXCEEDED);
  EXPECT_NE(full.status().message().find("max_backlog_messages 3"),
            std::string::npos)
      << full.status();
  EXPECT_TRUE(full.status().GetPayload(kRetryAfterPayload).has_value());

  // 30 bytes stored; room for 70 more.
  limits.set_max_backlog_messages(0);
  limits.set_max_backlog_bytes(100);
  Reconfigure(limits, 3);
  ASSERT_TRUE(Run(Send(std::string(70, 'b'))).ok());
  full = Run(Send("y"));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.status().message().find("holds 100 bytes"), std::string::npos)
      << full.status();

  auto received = Run(Receive(absl::ZeroDuration()));
  ASSERT_TRUE(received.ok()) << received.status();
  ASSERT_EQ(received->receive().messages_size(), 4);
  ForwardRequest remove;
  for (const auto& m : received->receive().messages()) {
    if (m.body().size() == 70) {
      auto* e = remove.mutable_delete_messages()->add_entries();
      e->set_entry_id("big");
      e->set_receipt_handle(m.receipt_handle());
    }
  }
  ASSERT_TRUE(Run(remove).ok());
  EXPECT_TRUE(Run(Send(std::string(70, 'c'))).ok());
}

TEST_F(LocalExecutorTest, LongPollWakesOnASend) {
  auto poll = Start(Receive(absl::Seconds(20)));
  OnLoop([this] { leaders_->Tick(); });  // nothing visible: still waiting
  EXPECT_FALSE(poll->done.HasBeenNotified());
  ASSERT_TRUE(Run(Send("late")).ok());
  poll->done.Wait();
  ASSERT_TRUE(poll->response.ok()) << poll->response.status();
  ASSERT_EQ(poll->response->receive().messages_size(), 1);
  EXPECT_EQ(poll->response->receive().messages(0).body(), "late");
}

TEST_F(LocalExecutorTest, LongPollEndsEmptyAtItsDeadline) {
  auto poll = Start(Receive(absl::Seconds(2)));
  clock_.Advance(absl::Milliseconds(1999));
  OnLoop([this] { leaders_->Tick(); });
  EXPECT_FALSE(poll->done.HasBeenNotified());
  clock_.Advance(absl::Milliseconds(1));
  OnLoop([this] { leaders_->Tick(); });
  poll->done.Wait();
  ASSERT_TRUE(poll->response.ok());
  EXPECT_EQ(poll->response->receive().messages_size(), 0);
}

TEST_F(LocalExecutorTest, TheCallersBudgetBoundsTheWait) {
  auto poll = Start(Receive(absl::Seconds(20)), absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  OnLoop([this] { leaders_->Tick(); });
  poll->done.Wait();
  ASSERT_TRUE(poll->response.ok());
  EXPECT_EQ(poll->response->receive().messages_size(), 0);
}

TEST_F(LocalExecutorTest, ShutdownAnswersWaitingPolls) {
  auto poll = Start(Receive(absl::Seconds(20)));
  OnLoop([this] { leaders_->Shutdown(); });
  poll->done.Wait();
  ASSERT_TRUE(poll->response.ok());
  EXPECT_EQ(poll->response->receive().messages_size(), 0);
}

TEST_F(LocalExecutorTest, WrongQueueIdOrGroupIsAClearError) {
  ForwardRequest request = Send("x");
  request.mutable_target()->set_group_id(kGroup.value());
  request.mutable_target()->set_queue_id(99);
  absl::StatusOr<ForwardResponse> r = absl::UnknownError("none");
  Latch done;
  OnLoop([&] {
    executor_->Execute(request, absl::Seconds(1),
                       [&](absl::StatusOr<ForwardResponse> out) {
                         r = std::move(out);
                         done.Notify();
                       });
  });
  done.Wait();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);

  // A group this node does not host: UNAVAILABLE, safe to retry elsewhere.
  request.mutable_target()->set_group_id(42);
  request.mutable_target()->set_queue_id(0);
  Latch again;
  OnLoop([&] {
    executor_->Execute(request, absl::Seconds(1),
                       [&](absl::StatusOr<ForwardResponse> out) {
                         r = std::move(out);
                         again.Notify();
                       });
  });
  again.Wait();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsNotProposed(r.status())) << r.status();
}

}  // namespace
}  // namespace sluice::broker::testing
