// TLS, authentication and authorization on three real sluiced processes
// with certificates from scripts/certs: every RPC is tried without
// credentials, with a wrong token, and as a principal holding each
// permission; peers must prove their node id; certificates rotate by
// restarting one node at a time.
#include "sluice/client/security.h"

#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sluice/client/client.h"
#include "sluice/client/consumer.h"
#include "sluice/internal/transport.grpc.pb.h"
#include "sluice/v1/cluster.grpc.pb.h"
#include "sluice/v1/queues.grpc.pb.h"
#include "tests/integration/sluiced_process.h"
#include "tests/integration/test_root.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMetadataGroup = 1;

// Principals of the auth config below; each token is "token-<name>".
// "q-admin" is admin of the test's queues only, "ops" of the cluster.
const std::vector<std::string> kTokenPrincipals = {
    "none", "sender", "receiver", "deleter", "manager", "q-admin", "ops"};

std::string AuthConfig() {
  std::string text = "# security_test\n";
  for (const std::string& p : kTokenPrincipals) {
    absl::StrAppend(&text, "token ", p, " ",
                    Sha256::HexHash(absl::StrCat("token-", p)), "\n");
  }
  absl::StrAppend(&text,
                  "grant admin admin *\n"
                  "grant sender send sec-*\n"
                  "grant receiver receive sec-*\n"
                  "grant deleter delete sec-*\n"
                  "grant manager manage sec-*\n"
                  "grant q-admin admin sec-*\n"
                  "grant ops admin *\n"
                  "grant certuser send,receive sec-*\n");
  return text;
}

grpc::ChannelArguments FreshChannelArgs() {
  grpc::ChannelArguments args;
  // Distinct channels per principal: gRPC would otherwise share one
  // subchannel (and its TLS session) between equal targets.
  static int unique = 0;
  args.SetInt("sluice.test.unique", ++unique);
  return args;
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = TestRoot();
    std::filesystem::remove_all(root_);
    certs_ = root_ + "-certs";
    std::filesystem::remove_all(certs_);
    ASSERT_TRUE(MakeTestCerts(certs_, 3, {"certuser"}).ok());
    auth_path_ = certs_ + "/auth.conf";
    std::ofstream(auth_path_) << AuthConfig();
    ClusterOptions options;
    options.certs_dir = certs_;
    options.auth_config = auth_path_;
    cluster_ = std::make_unique<TestCluster>(3, root_, options);
    ASSERT_TRUE(cluster_->StartAll().ok());
    ASSERT_NE(cluster_->WaitForLeader(kMetadataGroup, absl::Seconds(20)), 0u);
  }

  std::shared_ptr<grpc::Channel> Channel(
      int node, std::shared_ptr<grpc::ChannelCredentials> credentials) {
    return grpc::CreateCustomChannel(cluster_->node(node).address(),
                                     std::move(credentials),
                                     FreshChannelArgs());
  }
  std::shared_ptr<grpc::Channel> AsToken(const std::string& principal,
                                         int node = 1) {
    return Channel(
        node, TestCredentials(certs_, "", absl::StrCat("token-", principal)));
  }
  std::shared_ptr<grpc::Channel> AsAdmin(int node = 1) {
    return Channel(node, TestCredentials(certs_, "admin"));
  }

  static void Deadline(grpc::ClientContext& context,
                       absl::Duration d = absl::Seconds(20)) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + d));
  }

  void CreateQueue(const std::string& name, const std::string& dlq = "") {
    auto stub = v1::Queues::NewStub(AsAdmin());
    v1::CreateQueueRequest request;
    request.set_queue_name(name);
    if (!dlq.empty()) {
      auto* redrive = request.mutable_attributes()->mutable_redrive_policy();
      redrive->set_dead_letter_queue_name(dlq);
      redrive->set_max_receive_count(3);
    }
    v1::CreateQueueResponse response;
    grpc::Status s;
    // As a client library would: a create is idempotent, and on a loaded
    // machine the new partitions may take longer than the node waits for
    // their leaders (UNAVAILABLE, the queue exists anyway).
    for (int attempt = 0; attempt < 5; ++attempt) {
      grpc::ClientContext context;
      Deadline(context);
      s = stub->CreateQueue(&context, request, &response);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    }
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  std::string root_;
  std::string certs_;
  std::string auth_path_;
  std::unique_ptr<TestCluster> cluster_;
};

// One RPC with a harmless request: it either is refused (UNAUTHENTICATED,
// PERMISSION_DENIED) or does something a test can undo or ignore.
struct Rpc {
  std::string name;
  // Who may: holders of any of these permissions on the queue ("" for
  // every authenticated caller, "cluster" for admins of "*" only).
  std::set<std::string> allowed;
  std::function<grpc::Status(grpc::Channel&)> call;
};

// Calls `method` of `Service`'s stub on a channel with `request`.
template <typename Service, typename Request, typename Response,
          typename Method>
std::function<grpc::Status(grpc::Channel&)> Call(Method method,
                                                 Request request) {
  return [method, request](grpc::Channel& channel) {
    auto stub = Service::NewStub(
        std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    Response response;
    return ((*stub).*method)(&context, request, &response);
  };
}

template <typename Request, typename Response, typename Method>
std::function<grpc::Status(grpc::Channel&)> Unary(Method method,
                                                  Request request) {
  return Call<v1::Queues, Request, Response>(method, std::move(request));
}

template <typename Request, typename Response, typename Method>
std::function<grpc::Status(grpc::Channel&)> ClusterUnary(Method method,
                                                         Request request) {
  return Call<v1::Cluster, Request, Response>(method, std::move(request));
}

// An RPC whose request names only a queue.
template <typename Request, typename Response>
Rpc OnQueue(std::string name, std::set<std::string> allowed,
            grpc::Status (v1::Queues::Stub::*method)(grpc::ClientContext*,
                                                     const Request&, Response*),
            const std::string& queue) {
  Request request;
  request.set_queue_name(queue);
  return {std::move(name), std::move(allowed),
          Unary<Request, Response>(method, request)};
}

// Opens a stream on "sec-q": OK once the server says started, else the
// status it closed with.
grpc::Status OpenStream(grpc::Channel& channel) {
  auto stub = v1::Queues::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  auto stream = stub->StreamReceive(&context);
  v1::StreamReceiveRequest start;
  start.mutable_start()->set_queue_name("sec-q");
  stream->Write(start);
  v1::StreamReceiveResponse response;
  if (stream->Read(&response) && response.has_started()) {
    context.TryCancel();
    stream->Finish();
    return grpc::Status::OK;
  }
  stream->WritesDone();
  return stream->Finish();
}

bool Refused(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
         s.error_code() == grpc::StatusCode::PERMISSION_DENIED;
}

TEST_F(SecurityTest, EveryRpcRefusesCallersWithoutTheRightPermission) {
  CreateQueue("sec-dlq");
  CreateQueue("sec-q", "sec-dlq");
  CreateQueue("other-q");
  // A finished redrive task of sec-dlq, for CancelRedrive.
  std::string task_id;
  {
    auto stub = v1::Queues::NewStub(AsAdmin());
    v1::StartRedriveRequest request;
    request.set_source_queue_name("sec-dlq");
    v1::StartRedriveResponse response;
    grpc::ClientContext context;
    Deadline(context);
    grpc::Status s = stub->StartRedrive(&context, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    task_id = response.task().task_id();
  }

  using Q = v1::Queues::Stub;
  using C = v1::Cluster::Stub;
  std::vector<Rpc> rpcs;
  {
    v1::CreateQueueRequest r;  // the same again: idempotent
    r.set_queue_name("sec-q");
    auto* redrive = r.mutable_attributes()->mutable_redrive_policy();
    redrive->set_dead_letter_queue_name("sec-dlq");
    redrive->set_max_receive_count(3);
    rpcs.push_back({"CreateQueue",
                    {"manage"},
                    Unary<v1::CreateQueueRequest, v1::CreateQueueResponse>(
                        &Q::CreateQueue, r)});
  }
  rpcs.push_back(OnQueue("GetQueue", {"send", "receive", "delete", "manage"},
                         &Q::GetQueue, "sec-q"));
  rpcs.push_back({"ListQueues",
                  {""},
                  Unary<v1::ListQueuesRequest, v1::ListQueuesResponse>(
                      &Q::ListQueues, v1::ListQueuesRequest())});
  rpcs.push_back(
      OnQueue("UpdateQueue", {"manage"}, &Q::UpdateQueue, "sec-missing"));
  rpcs.push_back(
      OnQueue("DeleteQueue", {"manage"}, &Q::DeleteQueue, "sec-missing"));
  rpcs.push_back(
      OnQueue("PurgeQueue", {"manage"}, &Q::PurgeQueue, "sec-missing"));
  {
    v1::SendRequest r;
    r.set_queue_name("sec-q");
    auto* entry = r.add_entries();
    entry->set_entry_id("e1");
    entry->set_body("hello");
    rpcs.push_back({"Send",
                    {"send"},
                    Unary<v1::SendRequest, v1::SendResponse>(&Q::Send, r)});
  }
  rpcs.push_back(OnQueue("Receive", {"receive"}, &Q::Receive, "sec-missing"));
  rpcs.push_back({"StreamReceive", {"receive"}, OpenStream});
  {
    v1::DeleteRequest r;
    r.set_queue_name("sec-missing");
    r.add_entries()->set_receipt_handle("x");
    rpcs.push_back(
        {"Delete",
         {"delete"},
         Unary<v1::DeleteRequest, v1::DeleteResponse>(&Q::Delete, r)});
  }
  {
    v1::ChangeVisibilityRequest r;
    r.set_queue_name("sec-missing");
    r.add_entries()->set_receipt_handle("x");
    rpcs.push_back(
        {"ChangeVisibility",
         {"delete"},
         Unary<v1::ChangeVisibilityRequest, v1::ChangeVisibilityResponse>(
             &Q::ChangeVisibility, r)});
  }
  rpcs.push_back(OnQueue("Peek", {"receive"}, &Q::Peek, "sec-missing"));
  {
    v1::StartRedriveRequest r;
    r.set_source_queue_name("sec-missing");
    rpcs.push_back({"StartRedrive",
                    {"manage"},
                    Unary<v1::StartRedriveRequest, v1::StartRedriveResponse>(
                        &Q::StartRedrive, r)});
  }
  {
    v1::ListRedriveTasksRequest r;
    r.set_source_queue_name("sec-dlq");
    rpcs.push_back(
        {"ListRedriveTasks",
         {"manage"},
         Unary<v1::ListRedriveTasksRequest, v1::ListRedriveTasksResponse>(
             &Q::ListRedriveTasks, r)});
  }
  {
    v1::CancelRedriveRequest r;
    r.set_task_id(task_id);
    rpcs.push_back({"CancelRedrive",
                    {"manage"},
                    Unary<v1::CancelRedriveRequest, v1::CancelRedriveResponse>(
                        &Q::CancelRedrive, r)});
  }
  rpcs.push_back(OnQueue("GetQueueStats",
                         {"send", "receive", "delete", "manage"},
                         &Q::GetQueueStats, "sec-q"));
  rpcs.push_back(
      {"GetClusterStatus",
       {"cluster"},
       ClusterUnary<v1::GetClusterStatusRequest, v1::GetClusterStatusResponse>(
           &C::GetClusterStatus, v1::GetClusterStatusRequest())});
  {
    v1::TransferLeadershipRequest r;  // no such group: NOT_FOUND
    r.set_group_id(999999);
    r.set_target_node_id(2);
    rpcs.push_back({"TransferLeadership",
                    {"cluster"},
                    ClusterUnary<v1::TransferLeadershipRequest,
                                 v1::TransferLeadershipResponse>(
                        &C::TransferLeadership, r)});
  }
  {
    v1::DrainNodeRequest r;  // no such node
    r.set_node_id(99);
    rpcs.push_back({"DrainNode",
                    {"cluster"},
                    ClusterUnary<v1::DrainNodeRequest, v1::DrainNodeResponse>(
                        &C::DrainNode, r)});
  }
  {
    v1::AddNodeRequest r;
    r.set_node_id(4);
    r.set_address("127.0.0.1:1");
    rpcs.push_back({"AddNode",
                    {"cluster"},
                    ClusterUnary<v1::AddNodeRequest, v1::AddNodeResponse>(
                        &C::AddNode, r)});
  }
  {
    v1::RemoveNodeRequest r;
    r.set_node_id(99);
    rpcs.push_back({"RemoveNode",
                    {"cluster"},
                    ClusterUnary<v1::RemoveNodeRequest, v1::RemoveNodeResponse>(
                        &C::RemoveNode, r)});
  }
  ASSERT_EQ(rpcs.size(), 16u + 5u) << "every RPC of queues.proto and "
                                      "cluster.proto";

  // Which permission each token principal holds on sec-*.
  const std::map<std::string, std::string> holds = {
      {"none", ""},          {"sender", "send"},    {"receiver", "receive"},
      {"deleter", "delete"}, {"manager", "manage"}, {"q-admin", "admin"},
      {"ops", "cluster"}};
  auto no_credentials = Channel(1, TestCredentials(certs_, ""));
  auto wrong_token = Channel(2, TestCredentials(certs_, "", "token-wrong"));
  for (const Rpc& rpc : rpcs) {
    SCOPED_TRACE(rpc.name);
    grpc::Status s = rpc.call(*no_credentials);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("no credentials"));
    s = rpc.call(*wrong_token);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << s.error_message();
    for (const auto& [principal, permission] : holds) {
      SCOPED_TRACE(principal);
      const bool cluster_rpc = rpc.allowed.count("cluster") > 0;
      const bool allowed =
          permission == "cluster" ||
          (!cluster_rpc &&
           (permission == "admin" || rpc.allowed.count("") > 0 ||
            rpc.allowed.count(permission) > 0));
      // Through node 2 or 3 as well: forwarding must not skip the check.
      s = rpc.call(*AsToken(principal, principal.size() % 3 + 1));
      if (allowed) {
        EXPECT_FALSE(Refused(s)) << s.error_code() << " " << s.error_message();
      } else {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << s.error_code() << " " << s.error_message();
      }
    }
  }
}

TEST_F(SecurityTest, ListingShowsOnlyTheQueuesACallerHoldsPermissionsOn) {
  CreateQueue("sec-a");
  CreateQueue("other-b");
  auto names = [&](std::shared_ptr<grpc::Channel> channel) {
    auto stub = v1::Queues::NewStub(channel);
    grpc::ClientContext context;
    Deadline(context);
    v1::ListQueuesResponse response;
    grpc::Status s =
        stub->ListQueues(&context, v1::ListQueuesRequest(), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const auto& q : response.queues()) out.push_back(q.queue_name());
    return out;
  };
  EXPECT_THAT(names(AsToken("sender")), ::testing::ElementsAre("sec-a"));
  EXPECT_THAT(names(AsToken("none")), ::testing::IsEmpty());
  EXPECT_THAT(names(AsToken("ops")),
              ::testing::ElementsAre("other-b", "sec-a"));
}

TEST_F(SecurityTest, ClientCertificateIdentifiesThePrincipal) {
  CreateQueue("sec-q");
  auto stub =
      v1::Queues::NewStub(Channel(2, TestCredentials(certs_, "certuser")));
  v1::SendRequest send;
  send.set_queue_name("sec-q");
  auto* entry = send.add_entries();
  entry->set_entry_id("e1");
  entry->set_body("from a certificate");
  v1::SendResponse sent;
  grpc::ClientContext c1;
  Deadline(c1);
  grpc::Status s = stub->Send(&c1, send, &sent);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(sent.results(0).status().code(), 0);

  // certuser may send and receive, not delete: a stream refuses its acks.
  grpc::ClientContext c2;
  Deadline(c2);
  auto stream = stub->StreamReceive(&c2);
  v1::StreamReceiveRequest start;
  start.mutable_start()->set_queue_name("sec-q");
  ASSERT_TRUE(stream->Write(start));
  v1::StreamReceiveRequest credits;
  credits.mutable_credits()->set_messages(1);
  ASSERT_TRUE(stream->Write(credits));
  std::string handle;
  v1::StreamReceiveResponse response;
  while (handle.empty() && stream->Read(&response)) {
    if (response.has_messages() && response.messages().messages_size() > 0) {
      handle = response.messages().messages(0).receipt_handle();
    }
  }
  ASSERT_FALSE(handle.empty());
  v1::StreamReceiveRequest ack;
  ack.set_correlation_id(7);
  ack.mutable_ack()->add_receipt_handles(handle);
  ASSERT_TRUE(stream->Write(ack));
  bool answered = false;
  while (!answered && stream->Read(&response)) {
    for (const auto& r : response.results().results()) {
      if (r.correlation_id() != 7) continue;
      answered = true;
      EXPECT_EQ(r.status().code(), grpc::StatusCode::PERMISSION_DENIED);
      ASSERT_EQ(r.receipt_results_size(), 1);
      EXPECT_EQ(r.receipt_results(0).receipt_handle(), handle);
    }
  }
  EXPECT_TRUE(answered);
  c2.TryCancel();
  stream->Finish();
}

TEST_F(SecurityTest, PlaintextAndForeignCertificatesCannotConnect) {
  // Plaintext to a TLS port: no handshake, so no call gets through.
  auto plain = v1::Cluster::NewStub(grpc::CreateChannel(
      cluster_->node(1).address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext c1;
  Deadline(c1, absl::Seconds(3));
  v1::GetClusterStatusResponse status;
  grpc::Status s =
      plain->GetClusterStatus(&c1, v1::GetClusterStatusRequest(), &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

  // A client certificate of another CA fails the handshake.
  const std::string other = root_ + "-other-ca";
  std::filesystem::remove_all(other);
  ASSERT_TRUE(MakeTestCerts(other, 1, {}).ok());
  auto foreign = v1::Cluster::NewStub(
      Channel(1, PemCredentials(certs_ + "/ca.pem", other + "/client-admin.pem",
                                other + "/client-admin.key")));
  grpc::ClientContext c2;
  Deadline(c2, absl::Seconds(3));
  s = foreign->GetClusterStatus(&c2, v1::GetClusterStatusRequest(), &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

// Raft traffic only from a node certificate naming the sender's id.
TEST_F(SecurityTest, PeersMustProveTheNodeIdTheyClaim) {
  auto hello = [&](std::shared_ptr<grpc::ChannelCredentials> credentials,
                   uint64_t claimed, const std::string& override_name = "") {
    grpc::ChannelArguments args = FreshChannelArgs();
    if (!override_name.empty()) args.SetSslTargetNameOverride(override_name);
    auto stub =
        sluice::internal::RaftTransport::NewStub(grpc::CreateCustomChannel(
            cluster_->node(1).address(), credentials, args));
    sluice::internal::HelloRequest request;
    request.mutable_header()->set_cluster_id("sluice");
    request.mutable_header()->set_from_node_id(claimed);
    request.mutable_header()->set_to_node_id(1);
    request.mutable_header()->set_protocol_version(1);
    sluice::internal::HelloResponse response;
    grpc::ClientContext context;
    Deadline(context, absl::Seconds(5));
    return stub->Hello(&context, request, &response);
  };
  auto node_credentials = [&](int id) {
    const std::string node = absl::StrCat(certs_, "/node-", id);
    return PemCredentials(certs_ + "/ca.pem", node + ".pem", node + ".key");
  };
  grpc::Status s = hello(node_credentials(2), 2, "sluice-node-1");
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = hello(node_credentials(2), 3, "sluice-node-1");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("may not speak for node 3"));
  // A client certificate of the same CA is not a node's.
  s = hello(TestCredentials(certs_, "admin"), 2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  s = hello(TestCredentials(certs_, ""), 2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A node dials its peers expecting their node certificate: node 2's
  // certificate does not pass for node 1.
  s = hello(TestCredentials(certs_, "admin"), 2, "sluice-node-9");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(SecurityTest, CertificatesRotateByRestartingOneNodeAtATime) {
  CreateQueue("sec-rotate");
  auto send = [&](const std::string& body) {
    auto stub = v1::Queues::NewStub(AsAdmin(2));
    v1::SendRequest send;
    send.set_queue_name("sec-rotate");
    auto* entry = send.add_entries();
    entry->set_entry_id("e1");
    entry->set_body(body);
    v1::SendResponse sent;
    grpc::Status s;
    // A restarted node may still be catching up: retry briefly.
    for (int i = 0; i < 100; ++i) {
      grpc::ClientContext context;
      Deadline(context, absl::Seconds(5));
      s = stub->Send(&context, send, &sent);
      if (s.ok() && sent.results(0).status().code() == 0) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(sent.results(0).status().code(), 0)
        << sent.results(0).status().message();
  };
  const std::string old_cert = [&] {
    std::ifstream in(certs_ + "/node-1.pem");
    std::stringstream t;
    t << in.rdbuf();
    return t.str();
  }();
  // New node certificates under the same CA.
  ASSERT_TRUE(MakeTestCerts(certs_, 3, {"certuser"}).ok());
  {
    std::ifstream in(certs_ + "/node-1.pem");
    std::stringstream t;
    t << in.rdbuf();
    ASSERT_NE(t.str(), old_cert);
  }
  for (int id = 1; id <= 3; ++id) {
    SCOPED_TRACE(id);
    ASSERT_EQ(cluster_->node(id).Terminate(absl::Seconds(20)), 0);
    ASSERT_TRUE(cluster_->node(id).Start().ok());
    ASSERT_NE(cluster_->WaitForLeader(kMetadataGroup, absl::Seconds(20)), 0u);
    send(absl::StrCat("after restarting node ", id));
  }
  // Node 3 now presents its new certificate, and every send went through.
  auto stub = v1::Queues::NewStub(AsAdmin(3));
  v1::GetQueueStatsRequest request;
  request.set_queue_name("sec-rotate");
  v1::GetQueueStatsResponse stats;
  grpc::ClientContext context;
  Deadline(context);
  grpc::Status s = stub->GetQueueStats(&context, request, &stats);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(stats.counts().sent_count(), 3u);
  std::vector<grpc::string_ref> presented =
      context.auth_context()->FindPropertyValues("x509_pem_cert");
  ASSERT_EQ(presented.size(), 1u);
  std::ifstream in(certs_ + "/node-3.pem");
  std::stringstream now;
  now << in.rdbuf();
  EXPECT_EQ(std::string(presented[0].data(), presented[0].size()), now.str());
}

// The C++ library over TLS with a bearer token: routed sends to every
// partition leader and a streaming consumer that acks.
TEST_F(SecurityTest, ClientLibraryWorksWithTlsAndAToken) {
  client::SecuritySettings settings;
  settings.ca_file = certs_ + "/ca.pem";
  settings.token = "token-q-admin";
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      client::MakeCredentials(settings);
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  client::ClientOptions options;
  for (int n = 1; n <= 3; ++n) {
    options.seeds.push_back(cluster_->node(n).address());
  }
  options.credentials = *credentials;
  options.default_timeout = absl::Seconds(30);
  absl::StatusOr<std::shared_ptr<client::Client>> c =
      client::Client::Connect(options);
  ASSERT_TRUE(c.ok()) << c.status();
  std::shared_ptr<client::Client> lib = *c;

  v1::CreateQueueRequest create;
  create.set_queue_name("sec-lib");
  create.mutable_attributes()->set_partition_count(3);
  ASSERT_TRUE(lib->CreateQueue(create).ok());
  std::vector<client::OutgoingMessage> batch;
  for (int i = 0; i < 30; ++i) {
    client::OutgoingMessage m;
    m.body = absl::StrCat("m", i);
    batch.push_back(std::move(m));
  }
  for (const auto& r : lib->Send("sec-lib", std::move(batch))) {
    ASSERT_TRUE(r.ok()) << r.status();
  }
  absl::Mutex mu;
  std::set<std::string> seen;
  client::ConsumerOptions consumer_options;
  consumer_options.concurrency = 4;
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer = lib->NewConsumer(
      "sec-lib", consumer_options, [&](const v1::Message& m) -> absl::Status {
        absl::MutexLock lock(&mu);
        seen.insert(m.body());
        return absl::OkStatus();
      });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  {
    absl::MutexLock lock(&mu);
    auto all = [&] { return seen.size() == 30; };
    mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30));
    EXPECT_EQ(seen.size(), 30u);
  }
  (*consumer)->Stop();
  // Another principal's queue is out of reach for this token.
  v1::CreateQueueRequest other;
  other.set_queue_name("other-lib");
  absl::StatusOr<v1::CreateQueueResponse> refused = lib->CreateQueue(other);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  // Everything acked: nothing visible or in flight.
  auto admin = v1::Queues::NewStub(AsAdmin());
  for (int i = 0; i < 100; ++i) {
    v1::GetQueueStatsRequest request;
    request.set_queue_name("sec-lib");
    v1::GetQueueStatsResponse stats;
    grpc::ClientContext context;
    Deadline(context);
    ASSERT_TRUE(admin->GetQueueStats(&context, request, &stats).ok());
    if (stats.counts().deleted_count() == 30) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  v1::GetQueueStatsRequest request;
  request.set_queue_name("sec-lib");
  v1::GetQueueStatsResponse stats;
  grpc::ClientContext context;
  Deadline(context);
  ASSERT_TRUE(admin->GetQueueStats(&context, request, &stats).ok());
  EXPECT_EQ(stats.counts().deleted_count(), 30u);
}

// A node with unusable security settings exits at once, saying why.
TEST(SecuritySetupTest, NodeRefusesToStartWithBrokenSecurityFiles) {
  const std::string certs = TestRoot() + "-certs";
  std::filesystem::remove_all(certs);
  ASSERT_TRUE(MakeTestCerts(certs, 2, {}).ok());
  const std::string address = absl::StrCat("127.0.0.1:", FreePort());
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"--node-id=1", "--listen=" + address,
                                     "--peers=1=" + address,
                                     "--data-dir=" + TestRoot() + "-data"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunToExit(SluicedBinary(), args, absl::Seconds(20));
  };
  const std::string ca = "--tls-ca=" + certs + "/ca.pem";
  const std::string cert = "--tls-cert=" + certs + "/node-1.pem";
  RunResult r = run({cert, "--tls-key=" + certs + "/missing.key", ca});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("--tls-key: cannot read"));
  r = run({cert, "--tls-key=" + certs + "/node-1.pem", ca});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("holds no PEM 'PRIVATE KEY' block"));
  // A key that is not the certificate's: gRPC refuses to serve with it.
  r = run({cert, "--tls-key=" + certs + "/node-2.key", ca});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("certificate and key do not match"));
  const std::string auth = certs + "/auth.conf";
  std::ofstream(auth) << "grant ops admin *\ngrant ops fly *\n";
  r = run({cert, "--tls-key=" + certs + "/node-1.key", ca,
           "--auth-config=" + auth});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("auth config line 2: unknown permission"));
}

TEST(SecuritySetupTest, CertsScriptWritesAKubernetesSecret) {
  const std::string out = TestRoot() + "-certs";
  std::filesystem::remove_all(out);
  RunResult r = RunToExit(SLUICE_SOURCE_DIR "/scripts/certs",
                          {"--out", out, "--nodes", "2", "--k8s-secret",
                           "sluice-tls", "--namespace", "queues"},
                          absl::Seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(out + "/sluice-tls.yaml");
  std::stringstream yaml;
  yaml << in.rdbuf();
  EXPECT_THAT(yaml.str(), HasSubstr("kind: Secret"));
  EXPECT_THAT(yaml.str(), HasSubstr("namespace: queues"));
  std::map<std::string, std::string> data;  // the entries under data:
  bool in_data = false;
  for (absl::string_view line : absl::StrSplit(yaml.str(), '\n')) {
    if (line == "data:") {
      in_data = true;
      continue;
    }
    std::vector<std::string> kv =
        absl::StrSplit(line, absl::MaxSplits(": ", 1));
    if (!in_data || kv.size() != 2) continue;
    std::string decoded;
    ASSERT_TRUE(absl::Base64Unescape(kv[1], &decoded)) << kv[0];
    data[std::string(absl::StripAsciiWhitespace(kv[0]))] = decoded;
  }
  for (const char* file :
       {"ca.pem", "node-1.pem", "node-1.key", "node-2.pem", "node-2.key"}) {
    SCOPED_TRACE(file);
    std::ifstream f(out + "/" + file);
    std::stringstream content;
    content << f.rdbuf();
    ASSERT_EQ(data.count(file), 1u);
    EXPECT_EQ(data[file], content.str());
  }
  EXPECT_EQ(data.count("ca.key"), 0u) << "the CA key stays out of the cluster";
}

}  // namespace
}  // namespace sluice::testing
