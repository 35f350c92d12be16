#pragma once
/// \file
/// The one random source of marsc (zoo weights, `--calib random`, the seeded
/// input of `marsc run`, `eval --random` and `verify`, and tests): the same
/// seed gives the same numbers with every compiler and standard library.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <utility>
#include <vector>

namespace mars {

/// Random numbers from std::mt19937_64, whose output sequence the C++
/// standard fixes. Every mapping (floats, integers, normals, shuffles) is our
/// own because std's distributions and std::shuffle differ between standard
/// libraries.
class Random {
public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  /// One raw draw: 64 random bits.
  uint64_t bits() { return engine_(); }
  /// A double in [0, 1) built from the top 53 bits of one draw.
  double unit() { return double(engine_() >> 11) * 0x1.0p-53; }
  /// A float in [lo, hi] (rounding to float may reach hi).
  float uniform(double lo, double hi) {
    return static_cast<float>(lo + (hi - lo) * unit());
  }
  /// An integer in [lo, hi], uniform (Lemire's multiply-shift of one draw;
  /// its bias, below 2^-32 for the ranges tests use, does not matter here).
  int64_t uniformInt(int64_t lo, int64_t hi) {
    const auto span = static_cast<unsigned __int128>(uint64_t(hi - lo) + 1);
    return lo + static_cast<int64_t>((span * engine_()) >> 64);
  }
  /// true with probability p.
  bool chance(double p) { return unit() < p; }
  /// An element of `choices`, uniformly.
  template <typename T> T pick(std::initializer_list<T> choices) {
    return *(choices.begin() + uniformInt(0, int64_t(choices.size()) - 1));
  }
  /// A normal variate (Box-Muller over two unit() draws).
  double normal(double mean, double stddev) {
    const double u1 = 1.0 - unit(); // (0, 1]: log is finite
    const double u2 = unit();
    return mean + stddev * std::sqrt(-2.0 * std::log(u1)) *
                      std::cos(6.283185307179586 * u2);
  }
  /// Fisher-Yates over `items` with uniformInt (std::shuffle's use of the
  /// engine is left to each standard library).
  template <typename T> void shuffle(std::vector<T> &items) {
    for (size_t i = items.size(); i > 1; --i)
      std::swap(items[i - 1], items[size_t(uniformInt(0, int64_t(i) - 1))]);
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
