#include "MatrixMultiply.h"

#include <algorithm>
#include <vector>

namespace mars::interp {

namespace {

/// Columns of c handled per pass: four rows of this many doubles (32 KiB)
/// stay in L1 while a k×kColumnTile panel of b streams past them.
constexpr int64_t kColumnTile = 1024;

/// Four rows of c at once, accumulated in double: every element of b loaded
/// is used four times, and the innermost loop runs over contiguous columns
/// so it vectorises. Products of two floats are exact in double and a
/// double sum of k of them errs by about k × 2^-53, so c receives the exact
/// dot product rounded once to float32: the reference then evaluates a QDQ
/// model's Conv/Gemm as exactly as its float32 tensors allow, and rounding
/// ties of the integer contract are not decided by summation order.
void fourRows(int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
              int64_t ldb, float *c, int64_t ldc, double *acc) {
  double *__restrict d0 = acc;
  double *__restrict d1 = acc + n;
  double *__restrict d2 = acc + 2 * n;
  double *__restrict d3 = acc + 3 * n;
  for (int64_t j = 0; j < n; ++j) {
    d0[j] = c[j];
    d1[j] = c[ldc + j];
    d2[j] = c[2 * ldc + j];
    d3[j] = c[3 * ldc + j];
  }
  for (int64_t p = 0; p < k; ++p) {
    const double a0 = a[p], a1 = a[lda + p], a2 = a[2 * lda + p],
                 a3 = a[3 * lda + p];
    const float *__restrict row = b + p * ldb;
    for (int64_t j = 0; j < n; ++j) {
      const double v = row[j];
      d0[j] += a0 * v;
      d1[j] += a1 * v;
      d2[j] += a2 * v;
      d3[j] += a3 * v;
    }
  }
  for (int64_t j = 0; j < n; ++j) {
    c[j] = float(d0[j]);
    c[ldc + j] = float(d1[j]);
    c[2 * ldc + j] = float(d2[j]);
    c[3 * ldc + j] = float(d3[j]);
  }
}

void oneRow(int64_t n, int64_t k, const float *a, const float *b, int64_t ldb,
            float *c, double *acc) {
  double *__restrict d0 = acc;
  for (int64_t j = 0; j < n; ++j)
    d0[j] = c[j];
  for (int64_t p = 0; p < k; ++p) {
    const double a0 = a[p];
    const float *__restrict row = b + p * ldb;
    for (int64_t j = 0; j < n; ++j)
      d0[j] += a0 * double(row[j]);
  }
  for (int64_t j = 0; j < n; ++j)
    c[j] = float(d0[j]);
}

} // namespace

void matmulAccumulate(int64_t m, int64_t n, int64_t k, const float *a,
                      int64_t lda, const float *b, int64_t ldb, float *c,
                      int64_t ldc) {
  std::vector<double> acc(size_t(4 * std::min(kColumnTile, n)));
  for (int64_t j0 = 0; j0 < n; j0 += kColumnTile) {
    const int64_t cols = std::min(kColumnTile, n - j0);
    int64_t i = 0;
    for (; i + 4 <= m; i += 4)
      fourRows(cols, k, a + i * lda, lda, b + j0, ldb, c + i * ldc + j0, ldc,
               acc.data());
    for (; i < m; ++i)
      oneRow(cols, k, a + i * lda, b + j0, ldb, c + i * ldc + j0, acc.data());
  }
}

} // namespace mars::interp
