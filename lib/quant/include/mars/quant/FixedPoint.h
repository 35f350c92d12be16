#pragma once
/// \file
/// Fixed-point requantization: the one definition of how an int32
/// accumulator becomes a narrower integer (DESIGN.md §3). Training's integer
/// evaluation, the compiler and the runtime all call these functions.

#include <cstddef>
#include <cstdint>
#include <vector>

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

/// v / 2^shift rounded half to even (the rule of ONNX QuantizeLinear, so a
/// requantization equals DequantizeLinear → float op → QuantizeLinear up to
/// float32 rounding). Arithmetic on int64: the floor is v >> shift, the
/// remainder v & (2^shift - 1) is non-negative for negative v too.
inline int64_t roundingShift(int64_t v, int shift) {
  if (shift <= 0)
    return v;
  const int64_t floor = v >> shift;
  const int64_t rem = v & ((int64_t(1) << shift) - 1);
  const int64_t half = int64_t(1) << (shift - 1);
  return floor + (rem > half || (rem == half && (floor & 1)) ? 1 : 0);
}

/// acc × value / 2^shift, rounded half to even, in 64-bit arithmetic
/// (|acc| < 2^31 and value < 2^31 make the product fit in int64).
inline int64_t requantize(int64_t acc, Multiplier m) {
  return roundingShift(acc * int64_t(m.value), m.shift);
}

/// Multipliers for the reals `reals` (each > 0 and < 2^31) that share one
/// shift, so that Σ q_k × real_k is computed as one integer sum and rounded
/// once (`requantizeSum`), as DequantizeLinear → Add → QuantizeLinear rounds
/// once. The shift is chosen for the largest real as `quantizeMultiplier`
/// would; the others are round(real × 2^shift) and may lose precision only
/// when they are more than 2^30 times smaller than the largest. In
/// power-of-two mode each real is first rounded to its nearest power of two.
std::vector<Multiplier>
quantizeMultipliersSharingShift(const std::vector<double> &reals,
                                bool powerOfTwo = false);

/// Σ q[k] × ms[k].value for k < n, rounded half to even by the shared shift
/// (ms[0].shift; `quantizeMultipliersSharingShift` makes them equal). The
/// sum is taken in 128 bits so that no operand values can overflow it; the
/// result saturates to the int64 range.
int64_t requantizeSum(const int32_t *q, const Multiplier *ms, size_t n);

/// Rounds a real number half to even (QuantizeLinear's rule; std::nearbyint
/// in the default rounding mode), used where a real enters the integer
/// domain: input quantization, clip bounds, float biases. Values beyond the
/// int64 range saturate; NaN gives 0.
int64_t roundHalfEven(double v);

/// One element of the network input entering the integer domain, exactly as
/// the QDQ graph's Clip and QuantizeLinear compute it: v clipped to
/// [clipLo, clipHi], divided by the scale in float32, rounded half to even,
/// clamped to [lo, hi].
int64_t quantizeInputValue(float v, double clipLo, double clipHi, double scale,
                           int64_t lo, int64_t hi);

/// Clamps to [lo, hi].
inline int64_t clampTo(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

} // namespace mars::quant
