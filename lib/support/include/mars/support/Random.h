#pragma once
/// \file
/// The one random source of marsc (zoo weights, `--calib random`, the seeded
/// input of `marsc run`, `eval --random` and `verify`, and tests): the same
/// seed gives the same numbers with every compiler and standard library.

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace mars {

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
  /// `count` floats of unit(), one draw each: the seeded images.
  std::vector<float> unitFloats(size_t count) {
    std::vector<float> v(count);
    for (float &x : v)
      x = static_cast<float>(unit());
    return v;
  }

private:
  std::mt19937_64 engine_;
};

} // namespace mars
