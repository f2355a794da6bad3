#include "broker/transport/peer_sender.h"

#include <utility>

#include "base/crc32c.h"
#include "base/logging.h"

namespace sluice::broker {
namespace {

using sluice::internal::InstallSnapshotRequest;
using sluice::internal::InstallSnapshotResponse;
using sluice::internal::RaftStreamRequest;
using sluice::internal::RaftStreamResponse;
using sluice::internal::RaftTransport;

constexpr uint32_t kProtocolVersion = 1;

std::shared_ptr<grpc::Channel> MakeChannel(const PeerSenderOptions& options) {
  grpc::ChannelArguments args;
  // Notice a peer that vanished without closing the connection (a
  // partition, a killed VM) within seconds, not at TCP's timeouts.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, 64 << 20);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  if (options.dialer == nullptr) {
    return grpc::CreateCustomChannel(options.address,
                                     grpc::InsecureChannelCredentials(), args);
  }
  return options.dialer->Dial(options.peer, options.address, args);
}

}  // namespace

PeerSender::PeerSender(PeerSenderOptions options, TransportHandler* handler)
    : options_(std::move(options)),
      handler_(handler),
      channel_(MakeChannel(options_)) {
  message_thread_ = std::thread([this] { RunMessages(); });
  snapshot_thread_ = std::thread([this] { RunSnapshots(); });
}

PeerSender::~PeerSender() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (stream_context_ != nullptr) stream_context_->TryCancel();
    if (snapshot_context_ != nullptr) snapshot_context_->TryCancel();
  }
  message_thread_.join();
  snapshot_thread_.join();
}

void PeerSender::Send(std::vector<sluice::internal::raft::Message> messages) {
  bool overflow = false;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (messages.empty()) keepalive_ = true;
    for (auto& message : messages) {
      if (heartbeats_.Add(message)) continue;
      sluice::internal::RaftEnvelope envelope;
      envelope.set_group_id(message.group());
      message.SerializeToString(envelope.mutable_message());
      const size_t bytes = envelope.message().size();
      if (queued_bytes_ + bytes > options_.max_queued_bytes) {
        overflow = true;
        break;
      }
      queued_bytes_ += bytes;
      queue_.push_back(std::move(envelope));
    }
  }
  if (overflow) handler_->ReportUnreachable(options_.peer);
}

void PeerSender::SendSnapshot(OutgoingSnapshot snapshot) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  snapshots_.push_back(std::move(snapshot));
}

sluice::internal::PeerHeader PeerSender::Header() const {
  sluice::internal::PeerHeader header;
  header.set_cluster_id(options_.cluster_id);
  header.set_from_node_id(options_.self.value());
  header.set_to_node_id(options_.peer.value());
  header.set_protocol_version(kProtocolVersion);
  return header;
}

void PeerSender::Backoff(absl::Duration& delay) {
  absl::MutexLock lock(&mu_);
  auto stopping = [this]()
                      ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
  mu_.AwaitWithTimeout(absl::Condition(&stopping), delay);
  delay = std::min(delay * 2, options_.max_backoff);
}

void PeerSender::RunMessages() {
  auto stub = RaftTransport::NewStub(channel_);
  absl::Duration delay = options_.min_backoff;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_ || HasWork();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
    }
    StreamUntilBroken(*stub);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      // Whatever was queued for the broken stream is stale by the time we
      // reconnect; Raft resends what still matters.
      queue_.clear();
      queued_bytes_ = 0;
      heartbeats_.Clear();
      keepalive_ = false;
    }
    handler_->ReportUnreachable(options_.peer);
    Backoff(delay);
  }
}

void PeerSender::StreamUntilBroken(RaftTransport::Stub& stub) {
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stream_context_ = &context;
  }
  auto stream = stub.RaftStream(&context);
  uint64_t batch_seq = 0;
  while (true) {
    RaftStreamRequest request;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_ || HasWork();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) break;
      heartbeats_.MoveInto(request);
      keepalive_ = false;
      size_t bytes = 0;
      while (!queue_.empty() && (request.messages_size() == 0 ||
                                 bytes + queue_.front().message().size() <=
                                     options_.max_batch_bytes)) {
        bytes += queue_.front().message().size();
        *request.add_messages() = std::move(queue_.front());
        queue_.pop_front();
      }
      queued_bytes_ -= bytes;
    }
    const bool first = batch_seq == 0;
    if (first) *request.mutable_header() = Header();
    request.set_batch_seq(++batch_seq);
    if (!stream->Write(request)) break;
    if (first) {
      // The receiver answers the header once it accepted us; without this a
      // refused stream (another cluster, a stale id) would look open until
      // the next write.
      RaftStreamResponse accepted;
      if (!stream->Read(&accepted)) break;
      if (peer_down_logged_) {
        SLUICE_LOG(INFO) << "raft stream to node " << options_.peer << " at "
                         << options_.address << " is back";
        peer_down_logged_ = false;
      }
    }
  }
  context.TryCancel();
  grpc::Status status = stream->Finish();
  // Logged once per outage, not once per retry.
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED &&
      !peer_down_logged_) {
    SLUICE_LOG(WARNING) << "raft stream to node " << options_.peer << " at "
                        << options_.address
                        << " ended: " << status.error_message()
                        << " (retrying quietly)";
    peer_down_logged_ = true;
  }
  absl::MutexLock lock(&mu_);
  stream_context_ = nullptr;
}

void PeerSender::RunSnapshots() {
  auto stub = RaftTransport::NewStub(channel_);
  while (true) {
    OutgoingSnapshot snapshot;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_ || !snapshots_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      snapshot = std::move(snapshots_.front());
      snapshots_.pop_front();
    }
    const bool ok = InstallSnapshot(*stub, snapshot);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    handler_->ReportSnapshot(snapshot.group, snapshot.to, ok);
  }
}

bool PeerSender::InstallSnapshot(RaftTransport::Stub& stub,
                                 OutgoingSnapshot& snapshot) {
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    snapshot_context_ = &context;
  }
  auto finish = [&](bool ok) {
    absl::MutexLock lock(&mu_);
    snapshot_context_ = nullptr;
    return ok;
  };
  auto stream = stub.InstallSnapshot(&context);

  InstallSnapshotRequest begin_request;
  *begin_request.mutable_header() = Header();
  auto* begin = begin_request.mutable_begin();
  const auto& meta = snapshot.message.snapshot().metadata();
  begin->set_group_id(snapshot.group.value());
  begin->set_index(meta.index());
  begin->set_term(meta.term());
  snapshot.message.mutable_snapshot()->clear_data();
  snapshot.message.SerializeToString(begin->mutable_raft_message());
  InstallSnapshotResponse response;
  if (!stream->Write(begin_request) || !stream->Read(&response)) {
    stream->Finish();
    return finish(false);
  }
  if (response.not_needed()) {
    stream->WritesDone();
    stream->Finish();
    return finish(true);
  }

  // Chunks in order; one chunk of lookahead tells which is the last. The
  // receiver may already hold a prefix from a broken earlier call: the
  // source is read from the start and that prefix is skipped.
  uint64_t skip = response.resume_offset();
  uint64_t offset = skip;
  uint32_t whole_crc = 0;
  auto next = snapshot.source->NextChunk(options_.snapshot_chunk_bytes);
  while (skip > 0 && next.ok() && next->has_value()) {
    std::string& piece = **next;
    if (piece.size() > skip) {
      whole_crc = crc32c::Extend(whole_crc, piece.data(), skip);
      piece.erase(0, skip);
      skip = 0;
      break;
    }
    whole_crc = crc32c::Extend(whole_crc, piece.data(), piece.size());
    skip -= piece.size();
    next = snapshot.source->NextChunk(options_.snapshot_chunk_bytes);
  }
  while (true) {
    if (!next.ok()) {
      SLUICE_LOG(ERROR) << "snapshot of group " << snapshot.group
                        << " for node " << snapshot.to
                        << " cannot be read: " << next.status();
      context.TryCancel();
      stream->Finish();
      return finish(false);
    }
    std::optional<std::string> data = std::move(*next);
    if (data) next = snapshot.source->NextChunk(options_.snapshot_chunk_bytes);
    const bool last = !data || (next.ok() && !next->has_value());
    InstallSnapshotRequest request;
    auto* chunk = request.mutable_chunk();
    chunk->set_offset(offset);
    if (data) {
      chunk->set_crc32c(crc32c::Value(*data));
      whole_crc = crc32c::Extend(whole_crc, data->data(), data->size());
      offset += data->size();
      chunk->set_data(std::move(*data));
    }
    chunk->set_last(last);
    if (last) chunk->set_data_crc32c(whole_crc);
    if (!stream->Write(request)) break;
    if (last) break;
  }
  stream->WritesDone();
  bool done = false;
  while (stream->Read(&response)) done = done || response.done();
  grpc::Status status = stream->Finish();
  if (!status.ok()) {
    SLUICE_LOG(WARNING) << "snapshot of group " << snapshot.group << " to node "
                        << snapshot.to << " failed: " << status.error_message();
  }
  return finish(status.ok() && done);
}

}  // namespace sluice::broker
