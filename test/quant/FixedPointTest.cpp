#include "mars/support/Random.h"
#include "mars/quant/FixedPoint.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace mars::quant;

TEST_CASE("quantizeMultiplier represents the real factor to 2^-31") {
  for (double real :
       {1.0, 0.5, 0.75, 1e-3, 3.3e-5, 0.999999999, 123.456, 1.0 / 3.0, 2e-9}) {
    Multiplier m = quantizeMultiplier(real);
    INFO(real << " -> " << m.value << " >> " << m.shift);
    CHECK(m.shift >= 0);
    CHECK(m.shift <= 62);
    CHECK(std::abs(m.real() - real) <= real * std::ldexp(1.0, -30));
    if (m.shift < 62 && m.shift > 0)
      CHECK(m.value >= (1 << 30));
  }
}

TEST_CASE("power-of-two multipliers are the nearest power of two") {
  CHECK(quantizeMultiplier(0.25, true) == Multiplier{1, 2});
  CHECK(quantizeMultiplier(0.3, true) == Multiplier{1, 2});
  CHECK(quantizeMultiplier(0.09, true) == Multiplier{1, 3}); // log2 = -3.47
  CHECK(quantizeMultiplier(4.2, true) == Multiplier{4, 0});
}

TEST_CASE("requantize rounds half to even, as QuantizeLinear does") {
  Multiplier half{1, 1};             // × 0.5
  CHECK(requantize(3, half) == 2);   // 1.5 -> 2
  CHECK(requantize(-3, half) == -2); // -1.5 -> -2
  CHECK(requantize(5, half) == 2);   // 2.5 -> 2 (even), not 3
  CHECK(requantize(-5, half) == -2);
  CHECK(requantize(7, half) == 4); // 3.5 -> 4
  CHECK(requantize(-7, half) == -4);
  CHECK(requantize(4, half) == 2);
  Multiplier quarter{1, 2};
  CHECK(requantize(1, quarter) == 0); // 0.25
  CHECK(requantize(2, quarter) == 0); // 0.5 -> 0
  CHECK(requantize(6, quarter) == 2); // 1.5 -> 2
  CHECK(requantize(-2, quarter) == 0);
  CHECK(requantize(3, quarter) == 1); // 0.75
  CHECK(requantize(-3, quarter) == -1);
  CHECK(requantize(7, Multiplier{3, 0}) == 21);
}

TEST_CASE("requantize matches exact rational rounding on random inputs") {
  mars::Random rng(42);
  for (int i = 0; i < 20000; ++i) {
    int64_t acc = int64_t(rng.bits() % (1u << 28)) - (1 << 27);
    double real = std::ldexp(double(rng.bits() % 1000000 + 1) / 1e6,
                             -int(rng.bits() % 20));
    Multiplier m = quantizeMultiplier(real);
    // Exact: acc * value / 2^shift fits the 64-bit long double mantissa;
    // nearbyintl rounds half to even.
    long double exact = (long double)acc * m.value / std::ldexp(1.0L, m.shift);
    long double expected = std::nearbyintl(exact);
    INFO(acc << " * " << m.value << " >> " << m.shift);
    REQUIRE(requantize(acc, m) == (int64_t)expected);
  }
}

TEST_CASE("roundHalfEven") {
  CHECK(roundHalfEven(2.5) == 2);
  CHECK(roundHalfEven(3.5) == 4);
  CHECK(roundHalfEven(-2.5) == -2);
  CHECK(roundHalfEven(2.4999) == 2);
  CHECK(roundHalfEven(2.5001) == 3);
  CHECK(roundHalfEven(1e30) == INT64_MAX);
  CHECK(roundHalfEven(-1e30) == INT64_MIN);
  CHECK(roundHalfEven(std::nan("")) == 0);
}

TEST_CASE("input quantization divides in float32 like QuantizeLinear") {
  const float scale = 0.1f;
  // 0.45000002f / 0.1f is 4.5 in float32 (rounds to 4) but 4.5000001 in
  // double (rounds to 5): QuantizeLinear divides in float32.
  CHECK(quantizeInputValue(0.45000002f, -1e300, 1e300, scale, 0, 255) == 4);
  CHECK(double(0.45000002f) / double(0.1f) > 4.5); // double would say 5
  CHECK(quantizeInputValue(100.f, -1e300, 1e300, scale, 0, 255) == 255);
  CHECK(quantizeInputValue(-1.f, -1e300, 1e300, scale, 0, 255) == 0);
  CHECK(quantizeInputValue(5.f, -1e300, 0.5, scale, 0, 255) == 5); // clipped
}

TEST_CASE("Add multipliers share a shift and the sum is rounded once") {
  const std::vector<double> ratios = {0.73, 0.21};
  auto ms = quantizeMultipliersSharingShift(ratios);
  REQUIRE(ms.size() == 2);
  CHECK(ms[0].shift == ms[1].shift);
  for (size_t k = 0; k < 2; ++k)
    CHECK(std::abs(ms[k].real() - ratios[k]) <= std::ldexp(1.0, -30));
  // The integer sum is rounded once: compare with the exact rational value.
  mars::Random rng(7);
  for (int i = 0; i < 20000; ++i) {
    int32_t q[2] = {int32_t(rng.bits() % 511) - 255,
                    int32_t(rng.bits() % 511) - 255};
    long double exact =
        ((long double)q[0] * ms[0].value + (long double)q[1] * ms[1].value) /
        std::ldexp(1.0L, ms[0].shift);
    REQUIRE(requantizeSum(q, ms.data(), 2) == (int64_t)std::nearbyintl(exact));
  }
  // Where separate rounding and one rounding differ: 0.5 + 0.5 with unit
  // multipliers of one half each.
  auto halves = quantizeMultipliersSharingShift({0.5, 0.5});
  int32_t ones[2] = {1, 1};
  CHECK(requantizeSum(ones, halves.data(), 2) == 1);
  CHECK(requantize(1, halves[0]) + requantize(1, halves[1]) == 0);
  // Power-of-two targets stay exact with a shared shift.
  auto pow2 = quantizeMultipliersSharingShift({0.3, 4.2}, true);
  CHECK(pow2[0].real() == 0.25);
  CHECK(pow2[1].real() == 4.0);
}
