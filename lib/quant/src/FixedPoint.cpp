#include "mars/quant/FixedPoint.h"

#include "mars/support/Error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mars::quant {

double Multiplier::real() const { return std::ldexp(double(value), -shift); }

int64_t roundHalfEven(double v) {
  if (std::isnan(v))
    return 0;
  // 2^63 is exactly representable; anything at or beyond it saturates.
  if (v >= 9223372036854775808.0)
    return std::numeric_limits<int64_t>::max();
  if (v < -9223372036854775808.0)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(std::nearbyint(v));
}

int64_t quantizeInputValue(float v, double clipLo, double clipHi, double scale,
                           int64_t lo, int64_t hi) {
  const float clipped =
      static_cast<float>(std::min(std::max(double(v), clipLo), clipHi));
  const float ratio = clipped / static_cast<float>(scale);
  return clampTo(roundHalfEven(ratio), lo, hi);
}

std::vector<Multiplier>
quantizeMultipliersSharingShift(const std::vector<double> &reals,
                                bool powerOfTwo) {
  MARS_CHECK(!reals.empty(), "no multipliers to quantize");
  std::vector<double> targets;
  for (double r : reals) {
    MARS_CHECK(r > 0 && r < 2147483648.0, "multiplier out of range");
    targets.push_back(
        powerOfTwo ? quantizeMultiplier(r, /*powerOfTwo=*/true).real() : r);
  }
  const double largest = *std::max_element(targets.begin(), targets.end());
  // The shift that gives the largest real 31 significant bits; power-of-two
  // targets are then exact (value 2^30 × 2^-j).
  const int shift = quantizeMultiplier(largest).shift;
  std::vector<Multiplier> out;
  for (double t : targets) {
    // t <= largest, and largest × 2^shift < 2^31 by quantizeMultiplier's
    // choice of shift (up to its rounding, which the clamp absorbs).
    int64_t value = std::llround(std::ldexp(t, shift));
    value = std::min<int64_t>(value, std::numeric_limits<int32_t>::max());
    out.push_back(Multiplier{static_cast<int32_t>(value), shift});
  }
  return out;
}

int64_t requantizeSum(const int32_t *q, const Multiplier *ms, size_t n) {
  __int128 sum = 0;
  for (size_t k = 0; k < n; ++k)
    sum += static_cast<__int128>(q[k]) * ms[k].value;
  const int shift = n ? ms[0].shift : 0;
  if (shift > 0) {
    const __int128 one = 1;
    const __int128 floor = sum >> shift;
    const __int128 rem = sum & ((one << shift) - 1);
    const __int128 half = one << (shift - 1);
    sum = floor + (rem > half || (rem == half && (floor & 1)) ? 1 : 0);
  }
  const __int128 lo = std::numeric_limits<int64_t>::min();
  const __int128 hi = std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(sum < lo ? lo : (sum > hi ? hi : sum));
}

Multiplier quantizeMultiplier(double real, bool powerOfTwo) {
  MARS_CHECK(real > 0 && real < 2147483648.0, "multiplier out of range");
  if (powerOfTwo) {
    // Nearest power of two in the log domain; 2^k with k <= 30 is kept in
    // value, negative exponents go to shift.
    int k = static_cast<int>(std::lround(std::log2(real)));
    if (k >= 0)
      return Multiplier{int32_t(1) << std::min(k, 30), 0};
    return Multiplier{1, std::min(-k, 62)};
  }
  int exponent = 0;
  double mantissa = std::frexp(real, &exponent); // real = mantissa * 2^exponent
  int64_t value = std::llround(std::ldexp(mantissa, 31));
  if (value == (int64_t(1) << 31)) {
    value >>= 1;
    ++exponent;
  }
  int shift = 31 - exponent;
  while (shift > 62) {
    value = (value + 1) >> 1;
    --shift;
  }
  if (shift < 0) {
    // real >= 2^31 was rejected above; a shift below zero means value must
    // absorb the factor, which still fits because real < 2^31.
    value <<= -shift;
    shift = 0;
  }
  if (value == 0)
    value = 1;
  return Multiplier{static_cast<int32_t>(value), shift};
}

} // namespace mars::quant
