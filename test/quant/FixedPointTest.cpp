#include "mars/quant/FixedPoint.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace mars::quant;

TEST_CASE("quantizeMultiplier represents the real factor to 2^-31") {
  for (double real : {1.0, 0.5, 0.75, 1e-3, 3.3e-5, 0.999999999, 123.456,
                      1.0 / 3.0, 2e-9}) {
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

TEST_CASE("requantize rounds half away from zero") {
  Multiplier half{1, 1}; // × 0.5
  CHECK(requantize(3, half) == 2);   // 1.5 -> 2
  CHECK(requantize(-3, half) == -2); // -1.5 -> -2
  CHECK(requantize(5, half) == 3);   // 2.5 -> 3 (not banker's 2)
  CHECK(requantize(-5, half) == -3);
  CHECK(requantize(4, half) == 2);
  Multiplier quarter{1, 2};
  CHECK(requantize(1, quarter) == 0);  // 0.25
  CHECK(requantize(2, quarter) == 1);  // 0.5 -> 1
  CHECK(requantize(-2, quarter) == -1);
  CHECK(requantize(7, Multiplier{3, 0}) == 21);
}

TEST_CASE("requantize matches exact rational rounding on random inputs") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    int64_t acc = int64_t(rng() % (1u << 28)) - (1 << 27);
    double real = std::ldexp(double(rng() % 1000000 + 1) / 1e6,
                             -int(rng() % 20));
    Multiplier m = quantizeMultiplier(real);
    // Exact: acc * value / 2^shift with round half away, via long double.
    long double exact = (long double)acc * m.value / std::ldexp(1.0L, m.shift);
    long double expected = std::round(exact);
    INFO(acc << " * " << m.value << " >> " << m.shift);
    REQUIRE(requantize(acc, m) == (int64_t)expected);
  }
}

TEST_CASE("roundHalfAwayFromZero") {
  CHECK(roundHalfAwayFromZero(2.5) == 3);
  CHECK(roundHalfAwayFromZero(-2.5) == -3);
  CHECK(roundHalfAwayFromZero(2.4999) == 2);
}
