// sluiced: one node of a Sluice cluster. See broker/node/node_config.h for
// the flags; `sluiced --help` prints them.
//
// SIGTERM / SIGINT: drain (move this node's leaderships to other voters,
// up to 10 s), then stop serving and exit 0.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "base/logging.h"
#include "broker/server/node.h"

namespace {

constexpr char kUsage[] =
    "usage: sluiced --node-id=N --listen=HOST:PORT --peers=1=HOST:PORT,... "
    "--data-dir=PATH\n"
    "               [--advertise=HOST:PORT] [--metrics-listen=HOST:PORT]\n"
    "               [--cluster-name=NAME] [--tick-ms=MS] "
    "[--quiesce=true|false]\n"
    "               [--tls-cert=FILE --tls-key=FILE --tls-ca=FILE] "
    "[--auth-config=FILE]\n"
    "               [--max-streams-per-connection=N] [--max-queues=N] "
    "[--config=FILE]\n"
    "Runs one node of a Sluice cluster; see README.md.\n";

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built with Mutex deadlock detection on, which costs
  // a few percent of CPU in every lock; the code's lock order is checked
  // by the thread-safety annotations and the TSan build instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  auto config = sluice::node::ParseNodeConfig(args);
  if (!config.ok()) {
    std::fprintf(stderr, "sluiced: %s\n%s",
                 std::string(config.status().message()).c_str(), kUsage);
    return 2;
  }

  // Signals are taken synchronously by a waiting thread (sigwait), so the
  // shutdown runs outside any signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto node = sluice::broker::Node::Start(*config);
  if (!node.ok()) {
    std::fprintf(stderr, "sluiced: %s\n",
                 std::string(node.status().message()).c_str());
    return 1;
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  SLUICE_LOG(INFO) << "signal " << signal_number << ": draining";
  const int remaining = (*node)->Drain(absl::Seconds(10));
  SLUICE_LOG(INFO) << "drained (" << remaining
                   << " leaderships left); stopping";
  node->reset();
  return 0;
}
