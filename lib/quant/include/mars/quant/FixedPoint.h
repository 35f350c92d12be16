#pragma once
/// \file
/// Fixed-point requantization: the one definition of how an int32
/// accumulator becomes a narrower integer (DESIGN.md §3). Training's integer
/// evaluation, the compiler and the runtime all call these functions.

#include <cstdint>

namespace mars::quant {

/// A real factor r represented as value × 2^-shift, with value in
/// [2^30, 2^31) (or a power of two in power-of-two mode) and shift in 0..62.
struct Multiplier {
  int32_t value = 1;
  int shift = 0;

  /// The real factor this multiplier stands for.
  double real() const;
  bool operator==(const Multiplier &o) const {
    return value == o.value && shift == o.shift;
  }
};

/// The multiplier closest to `real` (> 0 and < 2^31). With `powerOfTwo`, the
/// nearest power of two 2^-k instead, so that the hardware only shifts.
///
/// Derivation: real = m × 2^e with m in [0.5, 1) (frexp). value =
/// round(m × 2^31) in [2^30, 2^31] — if rounding reaches 2^31, halve it and
/// increment e. Then real ≈ value × 2^(e-31), so shift = 31 - e. Factors so
/// small that shift would exceed 62 drop low bits of value (rounding) until
/// shift is 62; they are far below any useful scale ratio.
Multiplier quantizeMultiplier(double real, bool powerOfTwo = false);

/// acc × value / 2^shift, rounded half away from zero, in 64-bit arithmetic
/// (|acc| < 2^31 and value < 2^31 make the product fit in int64).
inline int64_t requantize(int64_t acc, Multiplier m) {
  const int64_t product = acc * int64_t(m.value);
  if (m.shift == 0)
    return product;
  const int64_t half = int64_t(1) << (m.shift - 1);
  if (product >= 0)
    return (product + half) >> m.shift;
  return -((-product + half) >> m.shift);
}

/// Rounds a real number half away from zero (std::round's rule), used where a
/// float enters the integer domain (input quantization, bias quantization).
int64_t roundHalfAwayFromZero(double v);

/// Clamps to [lo, hi].
inline int64_t clampTo(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

} // namespace mars::quant
