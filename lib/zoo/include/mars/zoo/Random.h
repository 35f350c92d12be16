#pragma once
/// \file
/// A deterministic random source: the same seed gives the same numbers with
/// every compiler and standard library.

#include <cstdint>
#include <random>

namespace mars::zoo {

/// Uniform random numbers from std::mt19937_64, whose output sequence the C++
/// standard fixes. The float mapping is our own because
/// std::uniform_real_distribution differs between standard libraries.
class Random {
public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  /// A double in [0, 1) built from the top 53 bits of one draw.
  double unit() { return double(engine_() >> 11) * 0x1.0p-53; }
  /// A float in [lo, hi] (rounding to float may reach hi).
  float uniform(double lo, double hi) {
    return static_cast<float>(lo + (hi - lo) * unit());
  }

private:
  std::mt19937_64 engine_;
};

} // namespace mars::zoo
