#pragma once
/// \file
/// The range of a `bits`-bit integer, written once: what a quantized
/// activation, weight, buffer or clamp may hold (two's complement when
/// signed). lib/quant's `ActQuant::lo()/hi()`, the program validator, the
/// compiler's quantization and training all use these.

#include <cstdint>

namespace mars {

/// The smallest `bits`-bit value: −2^(bits−1) when signed, else 0.
constexpr int64_t intLo(int bits, bool isSigned) {
  return isSigned ? -(int64_t(1) << (bits - 1)) : 0;
}

/// The largest `bits`-bit value: 2^(bits−1) − 1 when signed, else 2^bits − 1.
constexpr int64_t intHi(int bits, bool isSigned) {
  return isSigned ? (int64_t(1) << (bits - 1)) - 1 : (int64_t(1) << bits) - 1;
}

/// The smallest signed `bits`-bit value (weights are always signed).
constexpr int64_t signedLo(int bits) { return intLo(bits, /*isSigned=*/true); }

/// The largest signed `bits`-bit value, the bound of symmetric weight
/// quantization: 127 for 8 bits.
constexpr int64_t signedHi(int bits) { return intHi(bits, /*isSigned=*/true); }

static_assert(intLo(8, true) == -128 && intHi(8, true) == 127);
static_assert(intLo(8, false) == 0 && intHi(8, false) == 255);
static_assert(intHi(32, false) == 4294967295);

} // namespace mars
