#pragma once
// AVX-512 (8 int64 lanes) and AVX2 (4 lanes) forms of lib/quant's
// fixed-point rounding (FixedPoint.h): the same integer operations as
// quant::roundingShift, so bit-equal to it. Callers check the CPU and keep
// the scalar loop for other CPUs and for the tail.
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

/// roundingShift8 on 4 lanes. AVX2 has no 64-bit arithmetic shift, so the
/// floor is the logical shift with the sign bits put back on top.
__attribute__((target("avx2"))) inline __m256i roundingShift4(__m256i v,
                                                              int shift) {
  const __m256i one = _mm256_set1_epi64x(1);
  const __m256i negative = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
  const __m256i floor = _mm256_or_si256(
      _mm256_srl_epi64(v, _mm_cvtsi32_si128(shift)),
      _mm256_sll_epi64(negative, _mm_cvtsi32_si128(64 - shift)));
  const __m256i rem =
      _mm256_and_si256(v, _mm256_set1_epi64x((int64_t(1) << shift) - 1));
  const __m256i half = _mm256_set1_epi64x(int64_t(1) << (shift - 1));
  const __m256i odd = _mm256_cmpeq_epi64(_mm256_and_si256(floor, one), one);
  const __m256i up =
      _mm256_or_si256(_mm256_cmpgt_epi64(rem, half),
                      _mm256_and_si256(_mm256_cmpeq_epi64(rem, half), odd));
  return _mm256_sub_epi64(floor, up); // up is -1 in the lanes to round up
}

/// clamp8 on 4 lanes.
__attribute__((target("avx2"))) inline __m256i clamp4(__m256i v, int64_t lo,
                                                      int64_t hi) {
  const __m256i l = _mm256_set1_epi64x(lo), h = _mm256_set1_epi64x(hi);
  v = _mm256_blendv_epi8(v, l, _mm256_cmpgt_epi64(l, v));
  return _mm256_blendv_epi8(v, h, _mm256_cmpgt_epi64(v, h));
}

} // namespace mars::runtime::detail
