#include "broker/transport/raft_transport_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/crc32c.h"
#include "base/logging.h"
#include "broker/transport/heartbeat_coalescer.h"
#include "google/protobuf/util/time_util.h"

namespace sluice::broker {
namespace {

using sluice::internal::PeerHeader;
using sluice::internal::raft::Message;

constexpr uint32_t kProtocolVersion = 1;

}  // namespace

RaftTransportService::RaftTransportService(std::string cluster_id,
                                           raft::NodeId self)
    : cluster_id_(std::move(cluster_id)), self_(self) {}

void RaftTransportService::SetHandler(TransportHandler* handler) {
  absl::WriterMutexLock lock(&handler_mu_);
  handler_ = handler;
}

void RaftTransportService::Deliver(raft::NodeId from,
                                   std::vector<Message> messages) {
  absl::ReaderMutexLock lock(&handler_mu_);
  if (handler_ != nullptr) handler_->Deliver(from, std::move(messages));
}

grpc::Status RaftTransportService::CheckHeader(
    const grpc::ServerContextBase& context, const PeerHeader& header) const {
  if (require_node_certificates_) {
    // The certificate chains to the cluster's CA (TLS checked that); it
    // must also name the node the caller claims to be.
    const std::string name = VerifiedPeerName(context);
    if (name.empty()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "peer calls need a node certificate (mutual TLS)");
    }
    if (name != NodePrincipal(raft::NodeId(header.from_node_id()))) {
      return grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          absl::StrCat("certificate '", name, "' may not speak for node ",
                       header.from_node_id()));
    }
  }
  if (header.cluster_id() != cluster_id_) {
    return grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        absl::StrCat("this is node ", self_.value(), " of cluster '",
                     cluster_id_, "', not of cluster '", header.cluster_id(),
                     "'"));
  }
  if (header.from_node_id() == 0) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "peer header: from_node_id is 0");
  }
  if (header.to_node_id() != 0 && header.to_node_id() != self_.value()) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("this is node ", self_.value(), ", not node ",
                     header.to_node_id(), " (stale address book?)"));
  }
  if (header.protocol_version() != kProtocolVersion) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("unsupported protocol version ", header.protocol_version(),
                     " (this node speaks ", kProtocolVersion, ")"));
  }
  return grpc::Status::OK;
}

PeerHeader RaftTransportService::OwnHeader(uint64_t to) const {
  PeerHeader header;
  header.set_cluster_id(cluster_id_);
  header.set_from_node_id(self_.value());
  header.set_to_node_id(to);
  header.set_protocol_version(kProtocolVersion);
  return header;
}

grpc::Status RaftTransportService::Hello(
    grpc::ServerContext* context, const sluice::internal::HelloRequest* request,
    sluice::internal::HelloResponse* response) {
  if (grpc::Status s = CheckHeader(*context, request->header()); !s.ok())
    return s;
  *response->mutable_header() = OwnHeader(request->header().from_node_id());
  *response->mutable_server_time() =
      google::protobuf::util::TimeUtil::GetCurrentTime();
  return grpc::Status::OK;
}

grpc::Status RaftTransportService::RaftStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<sluice::internal::RaftStreamResponse,
                             sluice::internal::RaftStreamRequest>* stream) {
  sluice::internal::RaftStreamRequest request;
  if (!stream->Read(&request)) return grpc::Status::OK;
  if (grpc::Status s = CheckHeader(*context, request.header()); !s.ok())
    return s;
  const raft::NodeId from(request.header().from_node_id());
  // Only the header goes back: the sender does not read this direction
  // while it writes, so acknowledgements would only fill the window.
  sluice::internal::RaftStreamResponse first;
  *first.mutable_header() = OwnHeader(from.value());
  stream->Write(first);
  do {
    std::vector<Message> messages;
    messages.reserve(request.messages_size());
    for (const auto& envelope : request.messages()) {
      Message message;
      if (!message.ParseFromString(envelope.message()) ||
          message.group() != envelope.group_id() ||
          message.from() != from.value() || message.to() != self_.value()) {
        return grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("malformed raft message for group ",
                         envelope.group_id(), " from node ", from.value()));
      }
      messages.push_back(std::move(message));
    }
    if (absl::Status s = ExpandHeartbeats(request, from, self_, messages);
        !s.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          std::string(s.message()));
    }
    // An empty batch is a keepalive: it still shows the peer is alive.
    Deliver(from, std::move(messages));
  } while (stream->Read(&request));
  return grpc::Status::OK;
}

grpc::Status RaftTransportService::InstallSnapshot(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<sluice::internal::InstallSnapshotResponse,
                             sluice::internal::InstallSnapshotRequest>*
        stream) {
  sluice::internal::InstallSnapshotRequest request;
  if (!stream->Read(&request)) return grpc::Status::OK;
  if (grpc::Status s = CheckHeader(*context, request.header()); !s.ok())
    return s;
  if (!request.has_begin()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "InstallSnapshot: the first item must be `begin`");
  }
  const raft::NodeId from(request.header().from_node_id());
  Message message;
  if (!message.ParseFromString(request.begin().raft_message()) ||
      message.group() != request.begin().group_id() ||
      message.to() != self_.value() || message.from() != from.value()) {
    // `from` as RaftStream checks it: the header's node (whose certificate
    // TLS verified) may speak only for itself.
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "InstallSnapshot: malformed raft_message");
  }
  const sluice::internal::SnapshotBegin begin = request.begin();
  const auto key = std::make_pair(from.value(), begin.group_id());
  std::string data;
  {
    absl::MutexLock lock(&partial_mu_);
    auto it = partial_.find(key);
    if (it != partial_.end() && it->second.index == begin.index() &&
        it->second.term == begin.term()) {
      data = std::move(it->second.data);  // resume
    }
    if (it != partial_.end()) partial_.erase(it);
  }
  sluice::internal::InstallSnapshotResponse response;
  *response.mutable_header() = OwnHeader(from.value());
  response.set_resume_offset(data.size());
  // Keeps what arrived when the call ends before the last chunk.
  auto keep_partial = [&] {
    absl::MutexLock lock(&partial_mu_);
    partial_[key] =
        PartialSnapshot{begin.index(), begin.term(), std::move(data)};
  };
  if (!stream->Write(response)) {
    keep_partial();
    return grpc::Status::OK;
  }

  bool complete = false;
  uint64_t last_end = data.size();
  while (!complete && stream->Read(&request)) {
    if (!request.has_chunk()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "InstallSnapshot: expected a chunk");
    }
    const auto& chunk = request.chunk();
    if (chunk.offset() != data.size()) {
      keep_partial();
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("InstallSnapshot: chunk at offset ", chunk.offset(),
                       ", expected ", data.size()));
    }
    if (!chunk.data().empty() &&
        crc32c::Value(chunk.data()) != chunk.crc32c()) {
      keep_partial();
      return grpc::Status(grpc::StatusCode::DATA_LOSS,
                          absl::StrCat("InstallSnapshot: chunk at offset ",
                                       chunk.offset(), " fails its CRC-32C"));
    }
    data.append(chunk.data());
    last_end = data.size();
    complete = chunk.last();
  }
  if (!complete) {
    keep_partial();
    return grpc::Status(
        grpc::StatusCode::CANCELLED,
        "InstallSnapshot: the sender stopped before the last chunk");
  }
  if (crc32c::Value(data) != request.chunk().data_crc32c()) {
    // The prefix kept from an earlier call came from different data (the
    // leader's state moved on between attempts): start over next time.
    return grpc::Status(
        grpc::StatusCode::DATA_LOSS,
        "InstallSnapshot: the assembled data fails its CRC-32C");
  }
  message.mutable_snapshot()->set_data(std::move(data));
  std::vector<Message> messages;
  messages.push_back(std::move(message));
  Deliver(from, std::move(messages));
  sluice::internal::InstallSnapshotResponse done;
  done.set_done(true);
  done.set_persisted_offset(last_end);
  stream->Write(done);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* RaftTransportService::Forward(
    grpc::CallbackServerContext* context,
    const sluice::internal::ForwardRequest* request,
    sluice::internal::ForwardResponse* response) {
  grpc::Status status = CheckHeader(*context, request->header());
  if (status.ok() && request->target().hop_count() == 0) {
    status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "Forward: target.hop_count must be at least 1");
  }
  if (status.ok() && !forward_handler_) {
    status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "Forward: this node is still starting");
  }
  if (!status.ok()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  forward_handler_(context, request, response, reactor);
  return reactor;
}

}  // namespace sluice::broker
