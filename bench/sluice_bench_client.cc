// The client-library scenarios: the same shapes as send and drain, through
// the C++ client library (client/cpp) instead of raw RPCs, so they measure
// what an application gets from its batching producer and streaming
// consumer.
//   client-send   P threads, each keeping --window messages outstanding on
//                 one shared Producer (--linger-ms), for --seconds.
//   client-drain  preload --n through the Producer (not timed), then one
//                 Consumer with --consumers handler threads acks them all.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "bench/sluice_bench_queue.h"
#include "bench/sluice_bench_scenarios.h"
#include "bench/sluice_bench_watchdog.h"
#include "sluice/client/client.h"

namespace sluice::bench {
namespace {

absl::StatusOr<std::shared_ptr<client::Client>> Connect(
    const BenchFlags& flags) {
  client::ClientOptions options;
  options.seeds = flags.addresses;
  options.producer_name = "bench";
  options.credentials = BenchCredentials();
  options.default_timeout = absl::Milliseconds(flags.rpc_timeout_ms) * 3;
  return client::Client::Connect(options);
}

// Messages sent, acknowledged and failed by a run of the producer.
struct SendCounts {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> failed{0};
};

// P threads keep `window` messages each outstanding until `stop_ns` or
// until `total` messages were sent (0: no limit); then flushes.
void Produce(client::Producer& producer, const BenchFlags& flags,
             int64_t stop_ns, uint64_t total, SendCounts& counts) {
  std::vector<std::thread> threads;
  for (int p = 0; p < flags.producers; ++p) {
    threads.emplace_back([&, p] {
      absl::Mutex mu;
      int outstanding = 0;
      for (uint64_t seq = 1;; ++seq) {
        if (NowNs() >= stop_ns) break;
        if (total > 0 && counts.sent.fetch_add(1) >= total) break;
        if (total == 0) counts.sent.fetch_add(1);
        {
          absl::MutexLock lock(&mu);
          auto room = [&] { return outstanding < flags.window; };
          mu.Await(absl::Condition(&room));
          ++outstanding;
        }
        producer.Send(client::OutgoingMessage::Body(
                          MakeBody(flags.size, MakeId(p, seq), NowNs())),
                      [&](absl::StatusOr<client::SendReceipt> r) {
                        (r.ok() ? counts.acked : counts.failed).fetch_add(1);
                        absl::MutexLock lock(&mu);
                        --outstanding;
                      });
      }
      absl::MutexLock lock(&mu);
      auto done = [&] { return outstanding == 0; };
      mu.Await(absl::Condition(&done));
    });
  }
  for (std::thread& t : threads) t.join();
  if (total > 0 && counts.sent > total) counts.sent = total;
}

client::ProducerOptions ProducerOptionsFrom(const BenchFlags& flags) {
  client::ProducerOptions options;
  options.linger = absl::Milliseconds(flags.linger_ms);
  options.requests_per_partition = flags.requests_per_partition;
  return options;
}

// Creates the scenario's queue, a client and a producer on it.
struct Setup {
  explicit Setup(const BenchFlags& flags)
      : admin(flags.addresses), queue(flags, admin) {}
  absl::Status Start(const BenchFlags& flags) {
    if (absl::Status s = queue.Create(); !s.ok()) return s;
    absl::StatusOr<std::shared_ptr<client::Client>> c = Connect(flags);
    if (!c.ok()) return c.status();
    client = *c;
    absl::StatusOr<std::unique_ptr<client::Producer>> p =
        client->NewProducer(queue.name(), ProducerOptionsFrom(flags));
    if (!p.ok()) return p.status();
    producer = *std::move(p);
    return absl::OkStatus();
  }
  QueueAdmin admin;
  ScopedQueue queue;
  std::shared_ptr<client::Client> client;
  std::unique_ptr<client::Producer> producer;
};

}  // namespace

int RunClientSend(const BenchFlags& flags) {
  Setup setup(flags);
  if (absl::Status s = setup.Start(flags); !s.ok()) {
    Log(absl::StrCat("setup failed: ", s.ToString()));
    return kExitSetup;
  }
  const ScopedQueue& queue = setup.queue;
  client::Producer* producer = setup.producer.get();
  Log(absl::StrFormat(
      "client-send: %d threads x %d outstanding on one Producer (linger %d "
      "ms), %d B, %.0f s",
      flags.producers, flags.window, flags.linger_ms, flags.size,
      flags.seconds));
  SendCounts counts;
  const int64_t start_ns = NowNs();
  Produce(*producer, flags, start_ns + SecondsToNs(flags.seconds), 0, counts);
  const double elapsed = NsToSeconds(NowNs() - start_ns);
  const client::Producer::Stats stats = producer->stats();
  const double rate = static_cast<double>(counts.acked) / elapsed;
  Result r("client_send");
  r.Int("P", flags.producers)
      .Int("window", flags.window)
      .Int("linger_ms", flags.linger_ms)
      .Int("requests_per_partition", flags.requests_per_partition)
      .Num("secs", flags.seconds, 0)
      .Int("size", flags.size)
      .Int("partitions", flags.partitions)
      .Int("acked", static_cast<int64_t>(counts.acked.load()))
      .Int("failed", static_cast<int64_t>(counts.failed.load()))
      .Num("msgs_per_s", rate, 0)
      .Num("elapsed_s", elapsed, 2)
      .Int("rpcs", static_cast<int64_t>(stats.requests))
      .Num("msgs_per_rpc",
           stats.requests > 0 ? static_cast<double>(stats.messages) /
                                    static_cast<double>(stats.requests)
                              : 0,
           1)
      .Str("queue", queue.name());
  PrintResult(flags,
              absl::StrFormat(
                  "client-send throughput: %.0f msgs/s acknowledged "
                  "(%d acked, %d failed in %.2f s; %d Send RPCs, %.1f "
                  "messages each)\n",
                  rate, counts.acked.load(), counts.failed.load(), elapsed,
                  stats.requests,
                  stats.requests > 0 ? static_cast<double>(stats.messages) /
                                           static_cast<double>(stats.requests)
                                     : 0),
              r);
  return counts.failed > 0 ? kExitIncomplete : kExitOk;
}

int RunClientDrain(const BenchFlags& flags) {
  Setup setup(flags);
  if (absl::Status s = setup.Start(flags); !s.ok()) {
    Log(absl::StrCat("setup failed: ", s.ToString()));
    return kExitSetup;
  }
  const ScopedQueue& queue = setup.queue;
  std::shared_ptr<client::Client> client = setup.client;
  {
    client::Producer* producer = setup.producer.get();
    Log(absl::StrFormat("preloading %d messages through the Producer",
                        flags.n));
    SendCounts counts;
    const int64_t start = NowNs();
    Produce(*producer, flags, Watchdog::Get().SoftDeadlineNs(), flags.n,
            counts);
    Log(absl::StrFormat("preload: acked %d failed %d in %.2f s", counts.acked,
                        counts.failed, NsToSeconds(NowNs() - start)));
    if (counts.acked != flags.n) return kExitIncomplete;
  }
  std::atomic<uint64_t> handled{0};
  client::ConsumerOptions options;
  options.concurrency = flags.consumers;
  options.max_outstanding_messages = flags.batch * flags.consumers;
  const int64_t start_ns = NowNs();
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer =
      client->NewConsumer(queue.name(), options, [&](const v1::Message&) {
        handled.fetch_add(1);
        return absl::OkStatus();
      });
  if (!consumer.ok()) return kExitSetup;
  const int64_t deadline = Watchdog::Get().SoftDeadlineNs();
  while (handled.load() < flags.n && NowNs() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  const double elapsed = NsToSeconds(NowNs() - start_ns);
  (*consumer)->Stop();
  const client::Consumer::Stats stats = (*consumer)->stats();
  const double rate = static_cast<double>(handled.load()) / elapsed;
  Result r("client_drain");
  r.Int("n", static_cast<int64_t>(flags.n))
      .Int("handlers", flags.consumers)
      .Int("outstanding", options.max_outstanding_messages)
      .Int("size", flags.size)
      .Int("partitions", flags.partitions)
      .Int("handled", static_cast<int64_t>(handled.load()))
      .Int("acked", static_cast<int64_t>(stats.acked))
      .Num("msgs_per_s", rate, 0)
      .Num("elapsed_s", elapsed, 2)
      .Str("queue", queue.name());
  PrintResult(flags,
              absl::StrFormat("client-drain throughput: %.0f msgs/s (%d "
                              "handled, %d acked in %.2f s)\n",
                              rate, handled.load(), stats.acked, elapsed),
              r);
  return handled.load() == flags.n ? kExitOk : kExitIncomplete;
}

}  // namespace sluice::bench
