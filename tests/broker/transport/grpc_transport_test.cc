#include "broker/transport/grpc_transport.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/crc32c.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace sluice::broker {
namespace {

using sluice::internal::raft::Message;

constexpr absl::Duration kDeadline = absl::Seconds(20);

// Records what a transport hands to its host.
class Recorder : public TransportHandler {
 public:
  void Deliver(raft::NodeId from, std::vector<Message> messages) override {
    absl::MutexLock lock(&mu_);
    if (messages.empty()) ++keepalives_;
    for (auto& m : messages) {
      EXPECT_EQ(m.from(), from.value());
      received_.push_back(std::move(m));
    }
  }
  void ReportUnreachable(raft::NodeId peer) override {
    absl::MutexLock lock(&mu_);
    unreachable_.push_back(peer.value());
  }
  void ReportSnapshot(raft::GroupId group, raft::NodeId to, bool ok) override {
    absl::MutexLock lock(&mu_);
    snapshot_reports_.push_back({group.value(), to.value(), ok});
  }

  // Waits until `done` holds (under the lock) or `timeout` passes.
  template <typename Pred>
  bool WaitFor(Pred done, absl::Duration timeout = kDeadline) {
    absl::MutexLock lock(&mu_);
    auto cond = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return done(*this); };
    return mu_.AwaitWithTimeout(absl::Condition(&cond), timeout);
  }

  struct SnapshotReport {
    uint64_t group, to;
    bool ok;
  };
  absl::Mutex mu_;
  std::vector<Message> received_ ABSL_GUARDED_BY(mu_);
  int keepalives_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<uint64_t> unreachable_ ABSL_GUARDED_BY(mu_);
  std::vector<SnapshotReport> snapshot_reports_ ABSL_GUARDED_BY(mu_);
};

// One node's transport with its own gRPC server on loopback.
struct TestNode {
  TestNode(uint64_t id, std::string cluster, int port = 0) {
    GrpcTransportOptions options;
    options.cluster_id = std::move(cluster);
    options.self = raft::NodeId(id);
    options.sender_defaults.min_backoff = absl::Milliseconds(10);
    options.sender_defaults.snapshot_chunk_bytes = 256 << 10;
    transport = std::make_unique<GrpcTransport>(options);
    StartServer(port);
    transport->Start(&recorder);
  }
  ~TestNode() {
    transport->Stop();
    // Peers' streams into this server never end by themselves: cancel them.
    if (server) server->Shutdown(std::chrono::system_clock::now());
  }
  void StartServer(int wanted_port) {
    grpc::ServerBuilder builder;
    ConfigurePeerServer(builder);
    builder.AddListeningPort("127.0.0.1:" + std::to_string(wanted_port),
                             grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(transport->service());
    server = builder.BuildAndStart();
    ASSERT_NE(server, nullptr);
    ASSERT_GT(port, 0);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }

  Recorder recorder;
  std::unique_ptr<GrpcTransport> transport;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

std::vector<Message> Appends(uint64_t from, uint64_t to, uint64_t first,
                             int n) {
  std::vector<Message> messages;
  for (int i = 0; i < n; ++i) {
    Message m;
    m.set_type(sluice::internal::raft::MESSAGE_TYPE_APPEND);
    m.set_group(7);
    m.set_from(from);
    m.set_to(to);
    m.set_index(first + i);
    m.add_entries()->set_data(std::string(100, 'x'));
    messages.push_back(std::move(m));
  }
  return messages;
}

// Plain heartbeats travel coalesced and come out as the same Raft messages,
// in order after the other messages of their batch; an empty Send arrives
// as an empty delivery (a keepalive).
TEST(GrpcTransportTest, CoalescedHeartbeatsAndKeepalivesArrive) {
  TestNode a(1, "c"), b(2, "c");
  a.transport->SetPeerAddress(raft::NodeId(2), b.address());
  std::vector<Message> batch = Appends(1, 2, 1, 1);
  for (uint64_t g = 10; g < 13; ++g) {
    Message hb;
    hb.set_type(sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT);
    hb.set_group(g);
    hb.set_from(1);
    hb.set_to(2);
    hb.set_term(4);
    hb.set_commit(g * 10);
    hb.set_quiesce(g == 11);
    batch.push_back(hb);
  }
  a.transport->Send(raft::NodeId(2), batch);
  ASSERT_TRUE(b.recorder.WaitFor(
      [](Recorder& r)
          ABSL_NO_THREAD_SAFETY_ANALYSIS { return r.received_.size() >= 4; }));
  // (Queued together with messages, a keepalive just rides their batch.)
  a.transport->Send(raft::NodeId(2), {});
  ASSERT_TRUE(b.recorder.WaitFor(
      [](Recorder& r)
          ABSL_NO_THREAD_SAFETY_ANALYSIS { return r.keepalives_ >= 1; }));
  absl::MutexLock lock(&b.recorder.mu_);
  ASSERT_EQ(b.recorder.received_.size(), 4u);
  EXPECT_EQ(b.recorder.received_[0].type(),
            sluice::internal::raft::MESSAGE_TYPE_APPEND);
  for (size_t i = 1; i < 4; ++i) {
    const Message& m = b.recorder.received_[i];
    EXPECT_EQ(m.type(), sluice::internal::raft::MESSAGE_TYPE_HEARTBEAT);
    EXPECT_EQ(m.group(), 9 + i);
    EXPECT_EQ(m.term(), 4u);
    EXPECT_EQ(m.commit(), (9 + i) * 10);
    EXPECT_EQ(m.to(), 2u);
    EXPECT_EQ(m.quiesce(), i == 2);
  }
}

TEST(GrpcTransportTest, MessagesArriveInOrderAcrossCallsAndBatches) {
  TestNode a(1, "c"), b(2, "c");
  a.transport->SetPeerAddress(raft::NodeId(2), b.address());
  for (int call = 0; call < 20; ++call) {
    a.transport->Send(raft::NodeId(2), Appends(1, 2, 1 + call * 100, 100));
  }
  ASSERT_TRUE(
      b.recorder.WaitFor([](Recorder& r) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return r.received_.size() >= 2000;
      }));
  absl::MutexLock lock(&b.recorder.mu_);
  ASSERT_EQ(b.recorder.received_.size(), 2000u);
  for (size_t i = 0; i < 2000; ++i) {
    EXPECT_EQ(b.recorder.received_[i].index(), i + 1);
    EXPECT_EQ(b.recorder.received_[i].group(), 7u);
  }
}

TEST(GrpcTransportTest, UnreachablePeerIsReportedAndReconnectedLater) {
  int port = 0;
  {
    TestNode probe(9, "c");  // find a free port, then free it
    port = probe.port;
  }
  TestNode a(1, "c");
  a.transport->SetPeerAddress(raft::NodeId(2),
                              "127.0.0.1:" + std::to_string(port));
  a.transport->Send(raft::NodeId(2), Appends(1, 2, 1, 1));
  ASSERT_TRUE(a.recorder.WaitFor(
      [](Recorder& r)
          ABSL_NO_THREAD_SAFETY_ANALYSIS { return !r.unreachable_.empty(); }));
  {
    absl::MutexLock lock(&a.recorder.mu_);
    EXPECT_EQ(a.recorder.unreachable_.front(), 2u);
  }
  // The peer comes up on that port: traffic flows again without any call
  // other than Send (Raft keeps sending; the transport reconnects).
  TestNode b(2, "c", port);
  bool delivered = false;
  for (int attempt = 0; attempt < 200 && !delivered; ++attempt) {
    a.transport->Send(raft::NodeId(2), Appends(1, 2, 5, 1));
    delivered = b.recorder.WaitFor(
        [](Recorder& r)
            ABSL_NO_THREAD_SAFETY_ANALYSIS { return !r.received_.empty(); },
        absl::Milliseconds(100));
  }
  EXPECT_TRUE(delivered);
}

// Hands out `chunks` pieces of `size` bytes each.
class FakeSource : public SnapshotSource {
 public:
  FakeSource(int chunks, size_t size) : chunks_(chunks), size_(size) {}
  absl::StatusOr<std::optional<std::string>> NextChunk(
      size_t max_bytes) override {
    if (produced_ == chunks_) return std::optional<std::string>();
    EXPECT_GT(max_bytes, 0u);
    return std::optional<std::string>(
        std::string(size_, static_cast<char>('a' + produced_++)));
  }

 private:
  int chunks_;
  size_t size_;
  int produced_ = 0;
};

TEST(GrpcTransportTest, SnapshotArrivesWholeAfterManyChunks) {
  TestNode a(1, "c"), b(2, "c");
  a.transport->SetPeerAddress(raft::NodeId(2), b.address());
  OutgoingSnapshot snapshot;
  snapshot.group = raft::GroupId(7);
  snapshot.to = raft::NodeId(2);
  snapshot.message.set_type(sluice::internal::raft::MESSAGE_TYPE_SNAPSHOT);
  snapshot.message.set_group(7);
  snapshot.message.set_from(1);
  snapshot.message.set_to(2);
  snapshot.message.mutable_snapshot()->mutable_metadata()->set_index(42);
  snapshot.message.mutable_snapshot()->mutable_metadata()->set_term(3);
  snapshot.source = std::make_unique<FakeSource>(5, 300 << 10);
  a.transport->SendSnapshot(std::move(snapshot));

  ASSERT_TRUE(b.recorder.WaitFor(
      [](Recorder& r)
          ABSL_NO_THREAD_SAFETY_ANALYSIS { return !r.received_.empty(); }));
  {
    absl::MutexLock lock(&b.recorder.mu_);
    const Message& m = b.recorder.received_.front();
    EXPECT_EQ(m.snapshot().metadata().index(), 42u);
    const std::string& data = m.snapshot().data();
    ASSERT_EQ(data.size(), 5u * (300 << 10));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(data[i * (300 << 10)], 'a' + i);
  }
  ASSERT_TRUE(
      a.recorder.WaitFor([](Recorder& r) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return !r.snapshot_reports_.empty();
      }));
  absl::MutexLock lock(&a.recorder.mu_);
  EXPECT_EQ(a.recorder.snapshot_reports_.front().group, 7u);
  EXPECT_EQ(a.recorder.snapshot_reports_.front().to, 2u);
  EXPECT_TRUE(a.recorder.snapshot_reports_.front().ok);
}

TEST(GrpcTransportTest, AnotherClustersTrafficIsRefused) {
  TestNode a(1, "blue"), b(2, "green");
  a.transport->SetPeerAddress(raft::NodeId(2), b.address());
  a.transport->Send(raft::NodeId(2), Appends(1, 2, 1, 3));
  ASSERT_TRUE(a.recorder.WaitFor(
      [](Recorder& r)
          ABSL_NO_THREAD_SAFETY_ANALYSIS { return !r.unreachable_.empty(); }));
  {
    absl::MutexLock lock(&b.recorder.mu_);
    EXPECT_TRUE(b.recorder.received_.empty());
  }
  auto channel =
      grpc::CreateChannel(b.address(), grpc::InsecureChannelCredentials());
  auto stub = sluice::internal::RaftTransport::NewStub(channel);
  grpc::ClientContext context;
  sluice::internal::HelloRequest request;
  request.mutable_header()->set_cluster_id("blue");
  request.mutable_header()->set_from_node_id(1);
  request.mutable_header()->set_protocol_version(1);
  sluice::internal::HelloResponse response;
  grpc::Status status = stub->Hello(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("not of cluster 'blue'"),
            std::string::npos);
}

// Drives InstallSnapshot by hand to break a transfer midway.
class SnapshotCall {
 public:
  explicit SnapshotCall(const std::string& address)
      : stub_(sluice::internal::RaftTransport::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))),
        stream_(stub_->InstallSnapshot(&context_)) {}

  // Sends `begin` for group 7 index 42 term 3; returns resume_offset.
  uint64_t Begin(uint64_t message_from = 1) {
    sluice::internal::InstallSnapshotRequest request;
    request.mutable_header()->set_cluster_id("c");
    request.mutable_header()->set_from_node_id(1);
    request.mutable_header()->set_protocol_version(1);
    auto* begin = request.mutable_begin();
    begin->set_group_id(7);
    begin->set_index(42);
    begin->set_term(3);
    Message m;
    m.set_type(sluice::internal::raft::MESSAGE_TYPE_SNAPSHOT);
    m.set_group(7);
    m.set_from(message_from);
    m.set_to(2);
    m.mutable_snapshot()->mutable_metadata()->set_index(42);
    m.SerializeToString(begin->mutable_raft_message());
    EXPECT_TRUE(stream_->Write(request));
    sluice::internal::InstallSnapshotResponse response;
    if (!stream_->Read(&response)) return ~uint64_t{0};  // refused
    return response.resume_offset();
  }
  void Chunk(uint64_t offset, const std::string& data, bool last,
             uint32_t whole) {
    sluice::internal::InstallSnapshotRequest request;
    request.mutable_chunk()->set_offset(offset);
    request.mutable_chunk()->set_data(data);
    request.mutable_chunk()->set_crc32c(crc32c::Value(data));
    request.mutable_chunk()->set_last(last);
    request.mutable_chunk()->set_data_crc32c(whole);
    EXPECT_TRUE(stream_->Write(request));
  }
  grpc::Status Finish() {
    stream_->WritesDone();
    sluice::internal::InstallSnapshotResponse response;
    while (stream_->Read(&response)) {
    }
    return stream_->Finish();
  }

 private:
  std::unique_ptr<sluice::internal::RaftTransport::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<
      grpc::ClientReaderWriter<sluice::internal::InstallSnapshotRequest,
                               sluice::internal::InstallSnapshotResponse>>
      stream_;
};

TEST(GrpcTransportTest, BrokenSnapshotTransferResumesWhereItStopped) {
  TestNode b(2, "c");
  const std::string part1(1000, 'p'), part2(500, 'q');
  const uint32_t whole =
      crc32c::Extend(crc32c::Value(part1), part2.data(), part2.size());
  {
    SnapshotCall call(b.address());
    EXPECT_EQ(call.Begin(), 0u);
    call.Chunk(0, part1, /*last=*/false, 0);
    EXPECT_EQ(call.Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  {
    SnapshotCall call(b.address());
    ASSERT_EQ(call.Begin(), part1.size());  // resumes after part1
    call.Chunk(part1.size(), part2, /*last=*/true, whole);
    EXPECT_TRUE(call.Finish().ok());
  }
  absl::MutexLock lock(&b.recorder.mu_);
  ASSERT_EQ(b.recorder.received_.size(), 1u);
  EXPECT_EQ(b.recorder.received_[0].snapshot().data(), part1 + part2);
}

TEST(GrpcTransportTest, ResumedSnapshotWithChangedDataIsRejected) {
  TestNode b(2, "c");
  const std::string part1(1000, 'p'), part2(500, 'q');
  {
    SnapshotCall call(b.address());
    EXPECT_EQ(call.Begin(), 0u);
    call.Chunk(0, part1, /*last=*/false, 0);
    call.Finish();
  }
  SnapshotCall call(b.address());
  ASSERT_EQ(call.Begin(), part1.size());
  // The sender's data differs now: its whole-data CRC is not of part1+part2.
  const std::string other(1000, 'o');
  const uint32_t whole =
      crc32c::Extend(crc32c::Value(other), part2.data(), part2.size());
  call.Chunk(part1.size(), part2, /*last=*/true, whole);
  EXPECT_EQ(call.Finish().error_code(), grpc::StatusCode::DATA_LOSS);
  absl::MutexLock lock(&b.recorder.mu_);
  EXPECT_TRUE(b.recorder.received_.empty());
}

// The header names node 1 (with TLS: its certificate); the Raft message
// inside may not claim to come from another node.
TEST(GrpcTransportTest, SnapshotSpeakingForAnotherNodeIsRefused) {
  TestNode b(2, "c");
  SnapshotCall call(b.address());
  EXPECT_EQ(call.Begin(/*message_from=*/3), ~uint64_t{0});
  EXPECT_EQ(call.Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  absl::MutexLock lock(&b.recorder.mu_);
  EXPECT_TRUE(b.recorder.received_.empty());
}

TEST(GrpcTransportTest, SendToUnknownPeerReportsUnreachable) {
  TestNode a(1, "c");
  a.transport->Send(raft::NodeId(5), Appends(1, 5, 1, 1));
  absl::MutexLock lock(&a.recorder.mu_);
  ASSERT_EQ(a.recorder.unreachable_.size(), 1u);
  EXPECT_EQ(a.recorder.unreachable_[0], 5u);
}

}  // namespace
}  // namespace sluice::broker
