// Shared pieces of sluice-bench (bench/README.md): the flags, the message
// layout, clocks, gRPC channels and status helpers, latency percentiles and
// the result printer. The layout and the RESULT line follow the peer
// benchmark (../shared/peers/bench_common.h) so numbers line up:
//
//   body bytes 0..7   uint64 id   = (producer_index << 40) | seq, seq from 1
//   body bytes 8..15  uint64 t_ns = CLOCK_MONOTONIC send time (the intended
//                     send time in rate-limited modes, so sender-side
//                     queueing counts)
//   rest              filler
//
// Times in this program are CLOCK_MONOTONIC nanoseconds (int64_t, names end
// in _ns) because they travel inside message bodies and must match the
// peers' clock; durations given by the user are seconds.
#ifndef SLUICE_BENCH_SLUICE_BENCH_COMMON_H_
#define SLUICE_BENCH_SLUICE_BENCH_COMMON_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "sluice/v1/queues.grpc.pb.h"

namespace sluice::bench {

namespace v1 = ::sluice::v1;

// ---- flags -----------------------------------------------------------------

// Every flag of every scenario; a scenario ignores the ones it does not use.
// Zero means "the scenario's default" where noted (ResolveDefaults).
struct BenchFlags {
  std::string scenario;  // send | drain | latency | failover | idle
  std::vector<std::string> addresses = {"127.0.0.1:7101", "127.0.0.1:7102",
                                        "127.0.0.1:7103"};
  std::string queue;  // empty: bench-<scenario>-<random>
  uint32_t partitions = 1;
  int queues = 50;  // idle
  uint32_t replication = 3;
  int size = 1024;
  int producers = 4;
  int window = 64;
  int batch = 0;           // 0: send 1, drain 64, latency 64, failover 100
  int preload_batch = 64;  // drain: entries per Send while preloading
  double seconds = 0;      // 0: send 15, latency 20, failover 30
  uint64_t n = 200000;
  int consumers = 4;
  std::string mode = "stream";  // drain: stream | unary
  double rate = 0;              // 0: latency 2000, failover 1000
  double kill_at = 8;
  double restart_at = 20;
  double drain_at = 40;
  // failover drain: stop after this long without messages; idle: settle
  // this long before measuring.
  double idle = 5;
  std::string cluster_dir;
  double timeout = 120;            // hard bound on the whole run, seconds
  int rpc_timeout_ms = 0;          // 0: 2000 for failover, 10000 otherwise
  int linger_ms = 1;               // client-send, client-drain: Producer linger
  int requests_per_partition = 1;  // client-send: Producer option
  bool json = false;
  bool keep = false;
};

// Parses `scenario --name=value ...` (argv without the program name).
// Errors are INVALID_ARGUMENT and name the flag.
absl::StatusOr<BenchFlags> ParseBenchFlags(
    const std::vector<std::string>& args);

// The usage text printed by --help and on a bad command line.
std::string Usage();

// ---- clocks and message bodies ----------------------------------------------

int64_t NowNs();                  // CLOCK_MONOTONIC
void SleepUntilNs(int64_t t_ns);  // absolute CLOCK_MONOTONIC deadline
inline int64_t SecondsToNs(double s) { return static_cast<int64_t>(s * 1e9); }
inline double NsToMs(int64_t ns) { return static_cast<double>(ns) / 1e6; }
inline double NsToSeconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

inline uint64_t MakeId(int producer, uint64_t seq) {
  return (static_cast<uint64_t>(producer) << 40) | seq;
}
inline int IdProducer(uint64_t id) { return static_cast<int>(id >> 40); }
inline uint64_t IdSeq(uint64_t id) { return id & ((uint64_t{1} << 40) - 1); }

// A body of `size` bytes (at least 16) carrying `id` and `t_ns`.
std::string MakeBody(int size, uint64_t id, int64_t t_ns);

// The id and send time from a body; false if it is not one of ours.
bool ParseBody(absl::string_view body, uint64_t* id, int64_t* t_ns);

// ---- gRPC
// ---------------------------------------------------------------------

// TLS and a bearer token from $SLUICE_TLS_CA, $SLUICE_TLS_CERT,
// $SLUICE_TLS_KEY and $SLUICE_TOKEN, as the `sluice` CLI reads them
// (docs/security.md); nullptr (plaintext) when $SLUICE_TLS_CA is unset.
// Read once.
std::shared_ptr<grpc::ChannelCredentials> BenchCredentials();

// A channel with its own TCP connection (no subchannel sharing between
// channels, so P producers really are P connections) and short reconnect
// backoff (a restarted node is reachable again within a second).
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address);

// Deadline `ms` milliseconds from now, for ClientContext::set_deadline.
std::chrono::system_clock::time_point DeadlineIn(int64_t ms);

// The gRPC status as an absl::Status, with the `sluice-error-reason`
// trailer (if any) appended to the message.
absl::Status ToAbsl(const grpc::Status& status,
                    const grpc::ClientContext* context = nullptr);

// A trailing metadata value of a finished call; empty if absent.
std::string Trailer(const grpc::ClientContext& context, absl::string_view key);

// Whether a call that failed with `code` may be retried unchanged:
// UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (README.md).
bool Retryable(int code);

// "UNAVAILABLE" etc.
std::string CodeName(int code);

// ---- statistics
// ---------------------------------------------------------------

// Latency samples in nanoseconds; Percentile sorts on first use.
class Samples {
 public:
  void Add(int64_t ns) {
    values_.push_back(ns);
    sorted_ = false;
  }
  void Append(const Samples& other);
  size_t size() const { return values_.size(); }
  // p in [0, 1]; milliseconds; -1 when empty. Same rounding as the peers.
  double PercentileMs(double p);
  double MaxMs();

 private:
  void Sort();
  std::vector<int64_t> values_;
  bool sorted_ = true;
};

// ---- results
// ------------------------------------------------------------------

// One scenario's result: ordered key=value pairs, printed as the peers'
// `RESULT peer=sluice scenario=... key=value ...` line and, with --json, as
// one JSON object on stdout (the human summary then goes to stderr).
class Result {
 public:
  explicit Result(std::string scenario);
  Result& Int(absl::string_view key, int64_t value);
  Result& Num(absl::string_view key, double value, int decimals);
  Result& Str(absl::string_view key, absl::string_view value);

  std::string ResultLine() const;
  std::string Json() const;

 private:
  // value text as it appears in the RESULT line; quoted = JSON string
  struct Field {
    std::string key;
    std::string text;
    bool quoted;
  };
  std::vector<Field> fields_;
};

// Prints `summary` (human-readable lines) and the result: without --json
// both to stdout; with --json the JSON object alone to stdout, the rest to
// stderr.
void PrintResult(const BenchFlags& flags, const std::string& summary,
                 const Result& result);

// Progress and diagnostics on stderr, with the time since start.
void Log(absl::string_view text);

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_SLUICE_BENCH_COMMON_H_
