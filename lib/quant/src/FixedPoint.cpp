#include "mars/quant/FixedPoint.h"

#include "mars/support/Error.h"

#include <cmath>

namespace mars::quant {

double Multiplier::real() const { return std::ldexp(double(value), -shift); }

int64_t roundHalfAwayFromZero(double v) {
  return static_cast<int64_t>(std::round(v));
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
