// What one client can hold of a node: queues in the cluster, message bytes
// at the gRPC layer, concurrent calls per connection.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sluice/v1/queues.grpc.pb.h"
#include "tests/integration/sluiced_process.h"
#include "tests/integration/test_root.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMetadataGroup = 1;

class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.extra_flags = {"--max-queues=3", "--max-streams-per-connection=2"};
    cluster_ = std::make_unique<TestCluster>(3, TestRoot(), options);
    ASSERT_TRUE(cluster_->StartAll().ok());
    ASSERT_NE(cluster_->WaitForLeader(kMetadataGroup, absl::Seconds(20)), 0u);
  }

  std::shared_ptr<grpc::Channel> NewChannel(int node = 1) {
    grpc::ChannelArguments args;
    static int unique = 0;  // a connection of its own
    args.SetInt("sluice.test.unique", ++unique);
    return grpc::CreateCustomChannel(cluster_->node(node).address(),
                                     grpc::InsecureChannelCredentials(), args);
  }

  grpc::Status Create(v1::Queues::Stub& stub, const std::string& name) {
    v1::CreateQueueRequest request;
    request.set_queue_name(name);
    v1::CreateQueueResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    return stub.CreateQueue(&context, request, &response);
  }

  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(LimitsTest, CreatingMoreQueuesThanMaxQueuesIsRefused) {
  auto stub = v1::Queues::NewStub(NewChannel(2));
  for (const char* name : {"q1", "q2", "q3"}) {
    grpc::Status s = Create(*stub, name);
    ASSERT_TRUE(s.ok()) << name << ": " << s.error_message();
  }
  grpc::Status s = Create(*stub, "q4");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("already holds 3 queues"));
  // Creating an existing queue again is not a new queue.
  s = Create(*stub, "q1");
  EXPECT_TRUE(s.ok()) << s.error_message();
  {
    v1::DeleteQueueRequest request;
    request.set_queue_name("q2");
    v1::DeleteQueueResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    s = stub->DeleteQueue(&context, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  s = Create(*stub, "q4");
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(LimitsTest, OversizedMessagesAreRefusedBeforeTheyAreParsed) {
  ASSERT_TRUE(Create(*v1::Queues::NewStub(NewChannel()), "big").ok());
  auto stub = v1::Queues::NewStub(NewChannel());
  v1::SendRequest request;
  request.set_queue_name("big");
  auto* entry = request.add_entries();
  entry->set_entry_id("e1");
  entry->set_body(std::string(17 << 20, 'x'));
  v1::SendResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  grpc::Status s = stub->Send(&context, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("larger than max"));
  // Under the gRPC limit but over the API's 4 MiB: the handler refuses it.
  request.mutable_entries(0)->set_body(std::string(5 << 20, 'x'));
  grpc::ClientContext again;
  again.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  s = stub->Send(&again, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
}

// Opens a stream on `queue`; true once the server said started.
struct OpenedStream {
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::StreamReceiveRequest,
                                           v1::StreamReceiveResponse>>
      stream;
  bool started = false;
  void Close() {
    context->TryCancel();
    stream->Finish();
  }
};
OpenedStream Open(v1::Queues::Stub& stub, absl::Duration deadline) {
  OpenedStream s;
  s.context = std::make_unique<grpc::ClientContext>();
  s.context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  s.stream = stub.StreamReceive(s.context.get());
  v1::StreamReceiveRequest start;
  start.mutable_start()->set_queue_name("streams");
  s.stream->Write(start);
  v1::StreamReceiveResponse response;
  s.started = s.stream->Read(&response) && response.has_started();
  return s;
}

TEST_F(LimitsTest, OneConnectionHoldsAtMostMaxStreamsCalls) {
  ASSERT_TRUE(Create(*v1::Queues::NewStub(NewChannel()), "streams").ok());
  auto channel = NewChannel();
  auto stub = v1::Queues::NewStub(channel);
  OpenedStream first = Open(*stub, absl::Seconds(30));
  OpenedStream second = Open(*stub, absl::Seconds(30));
  ASSERT_TRUE(first.started);
  ASSERT_TRUE(second.started);
  // A third call on the same connection gets no stream while both are open.
  OpenedStream third = Open(*stub, absl::Seconds(2));
  EXPECT_FALSE(third.started);
  grpc::Status s = third.stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << s.error_message();
  // Another connection is not affected.
  auto other = v1::Queues::NewStub(NewChannel());
  OpenedStream elsewhere = Open(*other, absl::Seconds(30));
  EXPECT_TRUE(elsewhere.started);
  elsewhere.Close();
  // Closing one frees its slot. The client frees it at once, the server
  // when the cancel arrives, so a stream opened in between may be refused
  // (HTTP/2 REFUSED_STREAM; seen once in CI, not reproduced in 39 runs) and,
  // as any client would, is tried again; the refusal is printed.
  first.Close();
  OpenedStream fourth = Open(*stub, absl::Seconds(30));
  for (int attempt = 0; !fourth.started && attempt < 50; ++attempt) {
    const grpc::Status refused = fourth.stream->Finish();
    std::cerr << "fourth stream, attempt " << attempt << ": refused with "
              << refused.error_code() << " " << refused.error_message() << "\n";
    absl::SleepFor(absl::Milliseconds(100));
    fourth.stream.reset();  // before its context
    fourth = Open(*stub, absl::Seconds(30));
  }
  EXPECT_TRUE(fourth.started);
  fourth.Close();
  second.Close();
}

}  // namespace
}  // namespace sluice::testing
