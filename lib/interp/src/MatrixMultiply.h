#pragma once
/// \file
/// The one float matrix product behind Conv (after im2col), Gemm and MatMul.

#include <cstdint>

namespace mars::interp {

/// c[m×n] += a[m×k] · b[k×n]. All matrices are row-major; lda, ldb and ldc
/// are the distances between consecutive rows. Accumulates in float, in k
/// order for each element, as the ONNX reference's numpy dot does up to
/// rounding.
void matmulAccumulate(int64_t m, int64_t n, int64_t k, const float *a,
                      int64_t lda, const float *b, int64_t ldb, float *c,
                      int64_t ldc);

} // namespace mars::interp
