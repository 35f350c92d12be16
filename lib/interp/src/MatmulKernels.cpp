#include "MatmulKernels.h"

#include <algorithm>
#include <immintrin.h>

namespace mars::interp {

int64_t packedRowsA(int64_t m, int64_t rows) {
  return (m + rows - 1) / rows * rows;
}

void packA(int64_t m, int64_t k, int64_t rows, const float *a, int64_t lda,
           double *out) {
  for (int64_t block = 0; block * rows < m; ++block) {
    double *dst = out + block * k * rows;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = block * rows + r;
      for (int64_t p = 0; p < k; ++p)
        dst[p * rows + r] = i < m ? double(a[i * lda + p]) : 0.0;
    }
  }
}

void packPanelB(int64_t k, int64_t cols, int64_t width, const float *b,
                int64_t ldb, double *out) {
  for (int64_t p = 0; p < k; ++p) {
    const float *src = b + p * ldb;
    double *dst = out + p * width;
    for (int64_t j = 0; j < cols; ++j)
      dst[j] = src[j];
    for (int64_t j = cols; j < width; ++j)
      dst[j] = 0.0;
  }
}

namespace {

/// A tile of c to and from double: the kernels run on whole tiles and
/// these copy only the valid rows and columns.
template <int kRows, int kCols>
void loadTile(const float *c, int64_t ldc, int64_t rows, int64_t cols,
              double (&tile)[kRows][kCols]) {
  for (int r = 0; r < kRows; ++r)
    for (int j = 0; j < kCols; ++j)
      tile[r][j] = r < rows && j < cols ? double(c[r * ldc + j]) : 0.0;
}

template <int kRows, int kCols>
void storeTile(const double (&tile)[kRows][kCols], int64_t rows, int64_t cols,
               float *c, int64_t ldc) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      c[r * ldc + j] = float(tile[r][j]);
}

/// Every row block of a over one panel of b, with Tile(k, packedA block,
/// packedB, tile) doing the k loop on a tile held in registers.
template <int kRows, int kCols, typename Tile>
void sweep(int64_t m, int64_t k, int64_t cols, const double *packedA,
           const double *packedB, float *c, int64_t ldc, Tile tileKernel) {
  alignas(64) double tile[kRows][kCols];
  for (int64_t block = 0; block * kRows < m; ++block) {
    const int64_t rows = std::min<int64_t>(kRows, m - block * kRows);
    float *cBlock = c + block * kRows * ldc;
    loadTile(cBlock, ldc, rows, cols, tile);
    tileKernel(k, packedA + block * k * kRows, packedB, tile);
    storeTile(tile, rows, cols, cBlock, ldc);
  }
}

// ---- portable C++ (4 × 8) ----

void portableTile(int64_t k, const double *a, const double *b,
                  double (&tile)[4][8]) {
  for (int64_t p = 0; p < k; ++p)
    for (int r = 0; r < 4; ++r)
      for (int j = 0; j < 8; ++j)
        tile[r][j] += a[p * 4 + r] * b[p * 8 + j];
}

void portableSweep(int64_t m, int64_t k, int64_t cols, const double *packedA,
                   const double *packedB, float *c, int64_t ldc) {
  sweep<4, 8>(m, k, cols, packedA, packedB, c, ldc, portableTile);
}

// ---- AVX2 + FMA (6 × 8: twelve ymm accumulators) ----

__attribute__((target("avx2,fma"))) void
avx2Tile(int64_t k, const double *a, const double *b, double (&tile)[6][8]) {
  __m256d acc[6][2];
#pragma GCC unroll 6
  for (int r = 0; r < 6; ++r) {
    acc[r][0] = _mm256_load_pd(&tile[r][0]);
    acc[r][1] = _mm256_load_pd(&tile[r][4]);
  }
  for (int64_t p = 0; p < k; ++p) {
    const __m256d b0 = _mm256_loadu_pd(b + p * 8);
    const __m256d b1 = _mm256_loadu_pd(b + p * 8 + 4);
#pragma GCC unroll 6
    for (int r = 0; r < 6; ++r) {
      const __m256d ar = _mm256_broadcast_sd(a + p * 6 + r);
      acc[r][0] = _mm256_fmadd_pd(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_pd(ar, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < 6; ++r) {
    _mm256_store_pd(&tile[r][0], acc[r][0]);
    _mm256_store_pd(&tile[r][4], acc[r][1]);
  }
}

void avx2Sweep(int64_t m, int64_t k, int64_t cols, const double *packedA,
               const double *packedB, float *c, int64_t ldc) {
  sweep<6, 8>(m, k, cols, packedA, packedB, c, ldc, avx2Tile);
}

// ---- AVX-512F (8 × 16: sixteen zmm accumulators) ----

__attribute__((target("avx512f"))) void
avx512Tile(int64_t k, const double *a, const double *b, double (&tile)[8][16]) {
  __m512d acc[8][2];
#pragma GCC unroll 8
  for (int r = 0; r < 8; ++r) {
    acc[r][0] = _mm512_load_pd(&tile[r][0]);
    acc[r][1] = _mm512_load_pd(&tile[r][8]);
  }
  for (int64_t p = 0; p < k; ++p) {
    const __m512d b0 = _mm512_loadu_pd(b + p * 16);
    const __m512d b1 = _mm512_loadu_pd(b + p * 16 + 8);
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
      const __m512d ar = _mm512_set1_pd(a[p * 8 + r]);
      acc[r][0] = _mm512_fmadd_pd(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_pd(ar, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < 8; ++r) {
    _mm512_store_pd(&tile[r][0], acc[r][0]);
    _mm512_store_pd(&tile[r][8], acc[r][1]);
  }
}

void avx512Sweep(int64_t m, int64_t k, int64_t cols, const double *packedA,
                 const double *packedB, float *c, int64_t ldc) {
  sweep<8, 16>(m, k, cols, packedA, packedB, c, ldc, avx512Tile);
}

const MatmulKernel kPortable{"portable", 4, 8, portableSweep};
const MatmulKernel kAvx2{"avx2+fma", 6, 8, avx2Sweep};
const MatmulKernel kAvx512{"avx512f", 8, 16, avx512Sweep};

} // namespace

std::vector<const MatmulKernel *> matmulKernelsOnThisCpu() {
  std::vector<const MatmulKernel *> kernels{&kPortable};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    kernels.push_back(&kAvx2);
  if (__builtin_cpu_supports("avx512f"))
    kernels.push_back(&kAvx512);
  return kernels;
}

const MatmulKernel &detectMatmulKernel() {
  return *matmulKernelsOnThisCpu().back();
}

} // namespace mars::interp
