// Index memory per queued message (issue 4, point 8: at most 64 bytes).
// Counts every heap byte (malloc_usable_size, so allocator rounding counts
// too) allocated while 1M messages go into a MessageIndex, and prints
// bytes/message for the common shapes.
#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "broker/queue/message_index.h"
#include "gtest/gtest.h"

namespace {
std::atomic<int64_t> g_heap_bytes{0};
}  // namespace

void* operator new(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  g_heap_bytes += static_cast<int64_t>(malloc_usable_size(p));
  return p;
}
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  g_heap_bytes -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

namespace sluice::broker {
namespace {

constexpr uint64_t kMessages = 1'000'000;

double BytesPerMessage(bool fifo, uint32_t groups, bool leased) {
  const int64_t before = g_heap_bytes.load();
  double per_message;
  {
    MessageIndex index(fifo);
    const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
    std::vector<uint32_t> group_ids;
    for (uint32_t g = 0; g < groups; ++g) {
      group_ids.push_back(index.InternGroup("group-" + std::to_string(g)));
    }
    for (uint64_t seq = 1; seq <= kMessages; ++seq) {
      Meta m;
      if (fifo) m.group = group_ids[seq % groups];
      if (leased) {
        m.state = static_cast<uint32_t>(MsgState::kLeased);
        m.receive_count = 1;
        m.deadline = absl::ToUnixMicros(t0) + static_cast<int64_t>(seq);
      }
      // 1,000 messages a second of log time.
      index.Insert(seq, m, t0 + absl::Milliseconds(static_cast<int64_t>(seq)));
    }
    per_message = static_cast<double>(g_heap_bytes.load() - before) / kMessages;
  }
  EXPECT_EQ(g_heap_bytes.load(), before) << "index freed everything";
  return per_message;
}

TEST(IndexMemory, AtMost64BytesPerQueuedMessage) {
  const double standard = BytesPerMessage(false, 0, false);
  const double fifo = BytesPerMessage(true, 1000, false);
  const double in_flight = BytesPerMessage(false, 0, true);
  std::printf(
      "index bytes/message for %llu messages: standard visible %.1f, "
      "FIFO (1000 groups) %.1f, standard in flight %.1f\n",
      static_cast<unsigned long long>(kMessages), standard, fifo, in_flight);
  RecordProperty("standard_bytes_per_message", static_cast<int>(standard));
  RecordProperty("fifo_bytes_per_message", static_cast<int>(fifo));
  EXPECT_LE(standard, 64.0);
  EXPECT_LE(fifo, 64.0);
  EXPECT_LE(in_flight, 64.0);
}

}  // namespace
}  // namespace sluice::broker
