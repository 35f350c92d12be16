#pragma once
// The one AVX2 helper both Conv kernels (ConvKernels.cpp, the fast path;
// SaturatingKernel.cpp, the saturating ADC) use to add a partition's int32
// sums into the layer's int64 accumulators.
#include <cstdint>
#include <immintrin.h>

namespace mars::runtime::detail {

/// acc[0..8) += the 8 int32 lanes of v (widened to int64).
__attribute__((target("avx2"))) inline void addWide(int64_t *acc, __m256i v) {
  __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v));
  __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1));
  __m256i *p = reinterpret_cast<__m256i *>(acc);
  _mm256_storeu_si256(p, _mm256_add_epi64(_mm256_loadu_si256(p), lo));
  _mm256_storeu_si256(p + 1, _mm256_add_epi64(_mm256_loadu_si256(p + 1), hi));
}

} // namespace mars::runtime::detail
