#pragma once
// AVX-512 forms of lib/quant's fixed-point rounding (FixedPoint.h) on 8
// int64 lanes: the same integer operations as quant::roundingShift, so
// bit-equal to it. Callers check cpuHasAvx512() and keep the scalar loop
// for other CPUs and for the tail.
#include <cstdint>
#include <immintrin.h>

namespace mars::runtime::detail {

/// AVX-512 F (64-bit lanes: shifts, minimum, maximum, compares to masks).
inline bool cpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

/// AVX-512 F and BW (byte and word lanes, 64-bit masks).
inline bool cpuHasAvx512bw() {
  static const bool has = cpuHasAvx512() && __builtin_cpu_supports("avx512bw");
  return has;
}

/// quant::roundingShift(v, shift) for each lane: v / 2^shift rounded half
/// to even (floor by arithmetic shift, then +1 when the remainder is above
/// half, or exactly half with an odd floor). `shift` ≥ 1.
__attribute__((target("avx512f"))) inline __m512i roundingShift8(__m512i v,
                                                                 int shift) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i floor = _mm512_sra_epi64(v, _mm_cvtsi32_si128(shift));
  const __m512i rem =
      _mm512_and_si512(v, _mm512_set1_epi64((int64_t(1) << shift) - 1));
  const __m512i half = _mm512_set1_epi64(int64_t(1) << (shift - 1));
  const __mmask8 up =
      _mm512_cmpgt_epi64_mask(rem, half) |
      (_mm512_cmpeq_epi64_mask(rem, half) & _mm512_test_epi64_mask(floor, one));
  return _mm512_mask_add_epi64(floor, up, floor, one);
}

/// Clamps each lane to [lo, hi].
__attribute__((target("avx512f"))) inline __m512i clamp8(__m512i v, int64_t lo,
                                                         int64_t hi) {
  return _mm512_min_epi64(_mm512_max_epi64(v, _mm512_set1_epi64(lo)),
                          _mm512_set1_epi64(hi));
}

} // namespace mars::runtime::detail
