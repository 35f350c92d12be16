#include "MatrixMultiply.h"

#include <algorithm>

namespace mars::interp {

namespace {

/// Columns of c handled per pass: four rows of this many floats (16 KiB)
/// stay in L1 while a k×kColumnTile panel of b streams past them.
constexpr int64_t kColumnTile = 1024;

/// Four rows of c at once: every element of b loaded is used four times,
/// and the innermost loop runs over contiguous columns so it vectorises.
void fourRows(int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
              int64_t ldb, float *c, int64_t ldc) {
  float *__restrict c0 = c;
  float *__restrict c1 = c + ldc;
  float *__restrict c2 = c + 2 * ldc;
  float *__restrict c3 = c + 3 * ldc;
  for (int64_t p = 0; p < k; ++p) {
    const float a0 = a[p], a1 = a[lda + p], a2 = a[2 * lda + p],
                a3 = a[3 * lda + p];
    const float *__restrict row = b + p * ldb;
    for (int64_t j = 0; j < n; ++j) {
      const float v = row[j];
      c0[j] += a0 * v;
      c1[j] += a1 * v;
      c2[j] += a2 * v;
      c3[j] += a3 * v;
    }
  }
}

void oneRow(int64_t n, int64_t k, const float *a, const float *b, int64_t ldb,
            float *c) {
  float *__restrict c0 = c;
  for (int64_t p = 0; p < k; ++p) {
    const float a0 = a[p];
    const float *__restrict row = b + p * ldb;
    for (int64_t j = 0; j < n; ++j)
      c0[j] += a0 * row[j];
  }
}

} // namespace

void matmulAccumulate(int64_t m, int64_t n, int64_t k, const float *a,
                      int64_t lda, const float *b, int64_t ldb, float *c,
                      int64_t ldc) {
  for (int64_t j0 = 0; j0 < n; j0 += kColumnTile) {
    const int64_t cols = std::min(kColumnTile, n - j0);
    int64_t i = 0;
    for (; i + 4 <= m; i += 4)
      fourRows(cols, k, a + i * lda, lda, b + j0, ldb, c + i * ldc + j0, ldc);
    for (; i < m; ++i)
      oneRow(cols, k, a + i * lda, b + j0, ldb, c + i * ldc + j0);
  }
}

} // namespace mars::interp
