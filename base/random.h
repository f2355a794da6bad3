// A seeded, reproducible random generator. Everything random in Sluice that a
// test or the simulation must replay (election jitter, fault schedules) draws
// from one of these, never from a global source.
#ifndef SLUICE_BASE_RANDOM_H_
#define SLUICE_BASE_RANDOM_H_

#include <cstdint>
#include <random>

namespace sluice {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, n). n must be > 0. Rejection sampling rather than
  // std::uniform_int_distribution, whose algorithm the standard leaves open.
  uint64_t Uniform(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
      x = engine_();
    } while (x >= limit);
    return x % n;
  }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo +
           static_cast<int64_t>(Uniform(static_cast<uint64_t>(hi - lo) + 1));
  }
  // Uniform in [0, 1).
  double UnitDouble() { return (engine_() >> 11) * 0x1.0p-53; }
  // True with probability p.
  bool Bernoulli(double p) { return UnitDouble() < p; }
  uint64_t Next() { return engine_(); }

 private:
  // mt19937_64's output sequence is fixed by the standard, so a seed replays
  // identically with any compiler.
  std::mt19937_64 engine_;
};

}  // namespace sluice

#endif  // SLUICE_BASE_RANDOM_H_
