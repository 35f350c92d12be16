#pragma once
/// \file
/// The register-blocked kernels behind matmulAccumulate, one per instruction
/// set, chosen at run time. Every kernel computes each element of c the same
/// way: start from c in double, add the exact double products a[i][p]·b[p][j]
/// for p = 0, 1, ..., k-1 in that order, round once to float32 (a fused
/// multiply-add gives the same bits: the product of two floats is exact in
/// double). So all kernels, and any thread count, give identical results;
/// test/interp/MatmulKernelTest checks it bit for bit.

#include <cstdint>
#include <vector>

namespace mars::interp {

struct MatmulKernel {
  const char *name;
  int64_t rows;    ///< Rows of c per tile (a is packed in blocks of these).
  int64_t columns; ///< Columns of c per tile (b is packed in panels of these).
  /// c[0..m)[0..cols) += packedA · packedB for one packed panel of b
  /// (k × columns doubles, zero beyond cols) and all of a's row blocks.
  void (*sweepRows)(int64_t m, int64_t k, int64_t cols, const double *packedA,
                    const double *packedB, float *c, int64_t ldc);
};

/// The widest kernel the CPU supports (AVX-512F, AVX2+FMA, or portable C++).
const MatmulKernel &detectMatmulKernel();
/// Every kernel this CPU can run, the portable one first (for tests).
std::vector<const MatmulKernel *> matmulKernelsOnThisCpu();

/// m rounded up to whole row blocks of `rows`.
int64_t packedRowsA(int64_t m, int64_t rows);
/// a[m×k] (row stride lda) to double, as row blocks of `rows` rows stored
/// p-major (out[(block·k + p)·rows + r]); rows past m are zero.
void packA(int64_t m, int64_t k, int64_t rows, const float *a, int64_t lda,
           double *out);
/// Columns [0, cols) of b[k×·] (row stride ldb) to double, p-major with
/// `width` entries per p (out[p·width + j]); entries past cols are zero.
void packPanelB(int64_t k, int64_t cols, int64_t width, const float *b,
                int64_t ldb, double *out);

} // namespace mars::interp
