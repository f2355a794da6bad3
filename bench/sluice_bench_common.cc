#include "bench/sluice_bench_common.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"

namespace sluice::bench {
namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", what));
}

template <typename T>
absl::Status ParseInt(absl::string_view name, absl::string_view value,
                      int64_t min, int64_t max, T* out) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(value, &v) || v < min || v > max) {
    return FlagError(name, absl::StrCat("'", value, "' is not an integer in ",
                                        min, "..", max));
  }
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

absl::Status ParseSeconds(absl::string_view name, absl::string_view value,
                          double* out) {
  double v = 0;
  if (!absl::SimpleAtod(value, &v) || !(v >= 0) || v > 86400) {
    return FlagError(name,
                     absl::StrCat("'", value, "' is not seconds in 0..86400"));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ParseBool(absl::string_view name, absl::string_view value,
                       bool* out) {
  if (value == "true" || value == "1" || value.empty()) {
    *out = true;
  } else if (value == "false" || value == "0") {
    *out = false;
  } else {
    return FlagError(name, absl::StrCat("'", value, "' is not true or false"));
  }
  return absl::OkStatus();
}

absl::Status ParseAddresses(absl::string_view value, BenchFlags& flags) {
  flags.addresses.clear();
  for (absl::string_view a :
       absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    a = absl::StripAsciiWhitespace(a);
    size_t colon = a.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos ||
        !absl::SimpleAtoi(a.substr(colon + 1), &port) || port < 1 ||
        port > 65535) {
      return FlagError("addresses", absl::StrCat("'", a, "' is not HOST:PORT"));
    }
    flags.addresses.emplace_back(a);
  }
  if (flags.addresses.empty()) return FlagError("addresses", "empty list");
  return absl::OkStatus();
}

absl::Status Set(absl::string_view name, absl::string_view value,
                 BenchFlags& f) {
  if (name == "addresses") return ParseAddresses(value, f);
  if (name == "queue") {
    if (value.empty() || value.size() > 80) {
      return FlagError(name, "1-80 characters [A-Za-z0-9_-]");
    }
    f.queue = std::string(value);
    return absl::OkStatus();
  }
  if (name == "partitions")
    return ParseInt(name, value, 1, 1024, &f.partitions);
  if (name == "queues") return ParseInt(name, value, 1, 10000, &f.queues);
  if (name == "replication") return ParseInt(name, value, 1, 7, &f.replication);
  if (name == "size") return ParseInt(name, value, 16, 1 << 20, &f.size);
  if (name == "producers") return ParseInt(name, value, 1, 256, &f.producers);
  if (name == "window") return ParseInt(name, value, 1, 100000, &f.window);
  if (name == "batch") return ParseInt(name, value, 1, 100, &f.batch);
  if (name == "preload-batch") {
    return ParseInt(name, value, 1, 100, &f.preload_batch);
  }
  if (name == "seconds") return ParseSeconds(name, value, &f.seconds);
  if (name == "n") return ParseInt(name, value, 1, int64_t{1} << 32, &f.n);
  if (name == "consumers") return ParseInt(name, value, 1, 256, &f.consumers);
  if (name == "mode") {
    if (value != "stream" && value != "unary") {
      return FlagError(name, "stream or unary");
    }
    f.mode = std::string(value);
    return absl::OkStatus();
  }
  if (name == "rate") {
    if (!absl::SimpleAtod(value, &f.rate) || !(f.rate > 0) || f.rate > 1e6) {
      return FlagError(name, "messages per second in (0, 1e6]");
    }
    return absl::OkStatus();
  }
  if (name == "kill-at") return ParseSeconds(name, value, &f.kill_at);
  if (name == "restart-at") return ParseSeconds(name, value, &f.restart_at);
  if (name == "drain-at") return ParseSeconds(name, value, &f.drain_at);
  if (name == "idle") return ParseSeconds(name, value, &f.idle);
  if (name == "cluster-dir") {
    f.cluster_dir = std::string(value);
    return absl::OkStatus();
  }
  if (name == "timeout") return ParseSeconds(name, value, &f.timeout);
  if (name == "rpc-timeout-ms") {
    return ParseInt(name, value, 1, 600000, &f.rpc_timeout_ms);
  }
  if (name == "linger-ms") return ParseInt(name, value, 0, 10000, &f.linger_ms);
  if (name == "requests-per-partition") {
    return ParseInt(name, value, 1, 16, &f.requests_per_partition);
  }
  if (name == "json") return ParseBool(name, value, &f.json);
  if (name == "keep") return ParseBool(name, value, &f.keep);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown flag --", name, " (see --help)"));
}

// Scenario defaults, as the peers' run.sh uses them.
absl::Status ResolveDefaults(BenchFlags& f) {
  const bool client_send = f.scenario == "client-send",
             client_drain = f.scenario == "client-drain";
  const bool send = f.scenario == "send" || client_send,
             drain = f.scenario == "drain" || client_drain,
             latency = f.scenario == "latency",
             failover = f.scenario == "failover", idle = f.scenario == "idle";
  if (!send && !drain && !latency && !failover && !idle) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown scenario '", f.scenario,
        "' (want send, drain, latency, failover, idle, client-send or "
        "client-drain; see --help)"));
  }
  if (f.batch == 0) f.batch = send ? 1 : failover ? 100 : 64;
  if (f.seconds == 0) f.seconds = latency || idle ? 20 : failover ? 30 : 15;
  if (f.rate == 0) f.rate = failover ? 1000 : 2000;
  if (f.rpc_timeout_ms == 0) f.rpc_timeout_ms = failover ? 2000 : 10000;
  if (f.timeout <= 0) return FlagError("timeout", "must be > 0");
  if (idle && f.cluster_dir.empty()) {
    return FlagError("cluster-dir",
                     "required for idle (the scripts/cluster dir with "
                     "node-<id>.pid files)");
  }
  if (failover) {
    if (f.cluster_dir.empty()) {
      return FlagError("cluster-dir",
                       "required for failover (the scripts/cluster dir with "
                       "node-<id>.pid files)");
    }
    if (!(f.kill_at > 0 && f.kill_at < f.seconds)) {
      return FlagError("kill-at", "must be in (0, --seconds)");
    }
    if (!(f.restart_at > f.kill_at)) {
      return FlagError("restart-at", "must be after --kill-at");
    }
    if (f.drain_at < f.seconds || f.drain_at < f.restart_at) {
      return FlagError("drain-at", "must not be before --seconds/--restart-at");
    }
  }
  return absl::OkStatus();
}

const int64_t kProgramStartNs = NowNs();

}  // namespace

absl::StatusOr<BenchFlags> ParseBenchFlags(
    const std::vector<std::string>& args) {
  BenchFlags flags;
  if (args.empty()) return absl::InvalidArgumentError("no scenario given");
  flags.scenario = args[0];
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view rest = args[i];
    if (!absl::ConsumePrefix(&rest, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", args[i],
                       "' (flags look like --name=value)"));
    }
    std::vector<absl::string_view> parts =
        absl::StrSplit(rest, absl::MaxSplits('=', 1));
    const bool has_value = parts.size() == 2;
    if (!has_value && parts[0] != "json" && parts[0] != "keep") {
      return absl::InvalidArgumentError(absl::StrCat(
          "flag '", args[i], "' has no value (want --name=value)"));
    }
    if (absl::Status s = Set(parts[0], has_value ? parts[1] : "", flags);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = ResolveDefaults(flags); !s.ok()) return s;
  return flags;
}

std::string Usage() {
  return R"(usage: sluice-bench SCENARIO [--flag=value ...]

Scenarios (1 KiB messages by default; each creates its own queue, waits for
partition leaders, and deletes the queue at the end unless --keep):
  send      P producers (--producers=4), each one channel to address i mod N,
            each keeping --window=64 Send RPCs outstanding with --batch=1
            entries per Send, for --seconds=15. Throughput = acknowledged
            messages / time until every ack arrived. --batch>1 is reported as
            scenario=send_batched.
  drain     preload --n=200000 messages (--preload-batch=64 entries per Send,
            --producers, --window; not timed), then --consumers=4 receive and
            ack until all are gone. --mode=stream (StreamReceive, credits of
            --batch=64) or --mode=unary (Receive max_messages=--batch, wait 1 s,
            then Delete). Throughput = n / time.
  latency   one producer at --rate=2000 msg/s (open loop, window 64, one
            message per Send) for --seconds=20; one StreamReceive consumer
            (credits --batch=64) acking every message. Latency = receive time -
            intended send time: p50/p99/p99.9/max.
  failover  needs --cluster-dir (scripts/cluster's dir). Finds partition 0's
            leader (GetQueue), produces at --rate=1000 through the other nodes
            only as an idempotent producer (retries keep their sequence
            numbers; up to --batch=100 entries per Send, one Send in flight per
            partition), kill -9s the leader at --kill-at=8, restarts it (same
            command line, log appended to DIR/node-<id>.log, new pid written to
            DIR/node-<id>.pid) at --restart-at=20, stops producing at
            --seconds=30, drains at --drain-at=40 (until --idle=5 s without
            messages) and checks every acknowledged id.
  client-send   as send, through the C++ client library: --producers threads
            each keep --window messages outstanding on one batching Producer
            (--linger-ms=1, --requests-per-partition=1), for --seconds=15.
  client-drain  preload --n through the Producer, then one streaming Consumer
            with --consumers handler threads (credit --batch x --consumers)
            acks them all. Throughput = n / time.
  idle      needs --cluster-dir. Creates --queues=50 queues of --partitions
            partitions, waits --idle=5 s, then measures the CPU time of every
            node over --seconds=20 with no traffic (what idle partitions cost;
            compare a cluster started with SLUICED_FLAGS=--quiesce=false).

TLS and authentication: $SLUICE_TLS_CA, $SLUICE_TLS_CERT, $SLUICE_TLS_KEY,
$SLUICE_TOKEN as for the sluice CLI (e.g. a cluster from scripts/cluster
up --auth).

Common flags:
  --addresses=127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103
  --queue=NAME            default bench-<scenario>-<random>
  --partitions=1 --replication=3 --size=1024
  --timeout=120           hard bound on the whole run (seconds)
  --rpc-timeout-ms=N      per-RPC deadline (default 10000; failover 2000)
  --json                  print one JSON object per scenario on stdout
  --keep                  do not delete the queue at the end

Output: a summary and a peers-style line
  RESULT peer=sluice scenario=... key=value ...
Exit status: 0 ok, 1 usage, 2 setup or RPC error, 3 incomplete run (failed
sends, drain short, hard timeout), 4 acknowledged message lost, 5 duplicate.
)";
}

// ---- clocks and bodies
// ----------------------------------------------------------

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void SleepUntilNs(int64_t t_ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(t_ns / 1000000000);
  ts.tv_nsec = static_cast<long>(t_ns % 1000000000);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) ==
         EINTR) {
  }
}

std::string MakeBody(int size, uint64_t id, int64_t t_ns) {
  std::string body(static_cast<size_t>(std::max(size, 16)), '\0');
  std::memcpy(body.data(), &id, 8);
  std::memcpy(body.data() + 8, &t_ns, 8);
  for (size_t i = 16; i < body.size(); ++i) {
    body[i] = static_cast<char>('a' + (i % 26));
  }
  return body;
}

bool ParseBody(absl::string_view body, uint64_t* id, int64_t* t_ns) {
  if (body.size() < 16) return false;
  std::memcpy(id, body.data(), 8);
  std::memcpy(t_ns, body.data() + 8, 8);
  return true;
}

// ---- gRPC
// -------------------------------------------------------------------------

std::shared_ptr<grpc::ChannelCredentials> BenchCredentials() {
  static const std::shared_ptr<grpc::ChannelCredentials> credentials =
      []() -> std::shared_ptr<grpc::ChannelCredentials> {
    auto env = [](const char* name) -> std::string {
      const char* value = std::getenv(name);
      return value != nullptr ? value : "";
    };
    auto read = [](const std::string& path) {
      std::ifstream in(path, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      return text.str();
    };
    if (env("SLUICE_TLS_CA").empty()) return nullptr;
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = read(env("SLUICE_TLS_CA"));
    if (!env("SLUICE_TLS_CERT").empty()) {
      tls.pem_cert_chain = read(env("SLUICE_TLS_CERT"));
      tls.pem_private_key = read(env("SLUICE_TLS_KEY"));
    }
    std::shared_ptr<grpc::ChannelCredentials> channel =
        grpc::SslCredentials(tls);
    if (env("SLUICE_TOKEN").empty()) return channel;
    return grpc::CompositeChannelCredentials(
        channel, grpc::AccessTokenCredentials(env("SLUICE_TOKEN")));
  }();
  return credentials;
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> credentials = BenchCredentials();
  return grpc::CreateCustomChannel(
      address,
      credentials != nullptr ? credentials : grpc::InsecureChannelCredentials(),
      args);
}

std::chrono::system_clock::time_point DeadlineIn(int64_t ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
}

std::string Trailer(const grpc::ClientContext& context, absl::string_view key) {
  for (const auto& [k, v] : context.GetServerTrailingMetadata()) {
    if (absl::string_view(k.data(), k.size()) == key) {
      return std::string(v.data(), v.size());
    }
  }
  return "";
}

absl::Status ToAbsl(const grpc::Status& status,
                    const grpc::ClientContext* context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = status.error_message();
  if (context != nullptr) {
    std::string reason = Trailer(*context, "sluice-error-reason");
    if (!reason.empty()) absl::StrAppend(&message, " [", reason, "]");
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      message);
}

bool Retryable(int code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// ---- statistics
// --------------------------------------------------------------------

void Samples::Append(const Samples& other) {
  values_.insert(values_.end(), other.values_.begin(), other.values_.end());
  sorted_ = false;
}

void Samples::Sort() {
  if (!sorted_) std::sort(values_.begin(), values_.end());
  sorted_ = true;
}

double Samples::PercentileMs(double p) {
  if (values_.empty()) return -1;
  Sort();
  size_t i =
      static_cast<size_t>(p * static_cast<double>(values_.size() - 1) + 0.5);
  i = std::min(i, values_.size() - 1);
  return NsToMs(values_[i]);
}

double Samples::MaxMs() {
  if (values_.empty()) return -1;
  Sort();
  return NsToMs(values_.back());
}

// ---- results
// ------------------------------------------------------------------------

Result::Result(std::string scenario) {
  Str("peer", "sluice");
  Str("scenario", scenario);
}

Result& Result::Int(absl::string_view key, int64_t value) {
  fields_.push_back({std::string(key), absl::StrCat(value), false});
  return *this;
}

Result& Result::Num(absl::string_view key, double value, int decimals) {
  fields_.push_back(
      {std::string(key), absl::StrFormat("%.*f", decimals, value), false});
  return *this;
}

Result& Result::Str(absl::string_view key, absl::string_view value) {
  // RESULT lines are split on spaces: keep values free of them.
  std::string text(value);
  std::replace(text.begin(), text.end(), ' ', '_');
  fields_.push_back({std::string(key), std::move(text), true});
  return *this;
}

std::string Result::ResultLine() const {
  std::string line = "RESULT";
  for (const Field& f : fields_)
    absl::StrAppend(&line, " ", f.key, "=", f.text);
  return line;
}

std::string Result::Json() const {
  std::string out = "{";
  for (size_t i = 0; i < fields_.size(); ++i) {
    const Field& f = fields_[i];
    absl::StrAppend(&out, i ? "," : "", "\"", f.key, "\":");
    if (f.quoted) {
      std::string escaped;
      for (char c : f.text) {
        if (c == '"' || c == '\\') escaped.push_back('\\');
        if (static_cast<unsigned char>(c) < 0x20) continue;
        escaped.push_back(c);
      }
      absl::StrAppend(&out, "\"", escaped, "\"");
    } else {
      absl::StrAppend(&out, f.text);
    }
  }
  return out + "}";
}

void PrintResult(const BenchFlags& flags, const std::string& summary,
                 const Result& result) {
  std::ostream& human = flags.json ? std::cerr : std::cout;
  human << summary << result.ResultLine() << "\n";
  human.flush();
  if (flags.json) std::cout << result.Json() << std::endl;
}

void Log(absl::string_view text) {
  static absl::Mutex mu(absl::kConstInit);
  absl::MutexLock lock(&mu);
  std::cerr << absl::StrFormat("[%8.3f] ",
                               NsToSeconds(NowNs() - kProgramStartNs))
            << text << std::endl;
}

}  // namespace sluice::bench
