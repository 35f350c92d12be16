#pragma once
/// \file
/// The one float matrix product behind Conv (after im2col), Gemm and MatMul.

#include <cstdint>
#include <vector>

namespace mars::interp {

/// c[m×n] += a[m×k] · b[k×n]. All matrices are row-major; lda, ldb and ldc
/// are the distances between consecutive rows. Accumulates in double and
/// rounds each element of c once: the exact dot product to float32, so that
/// a QDQ model evaluated here means what the integer contract computes
/// (summation order does not decide rounding ties).
///
/// Runs the widest kernel of MatmulKernels.h the CPU has, on up to
/// hardware_concurrency() threads over disjoint column panels; the bits of c
/// depend on neither.
void matmulAccumulate(int64_t m, int64_t n, int64_t k, const float *a,
                      int64_t lda, const float *b, int64_t ldb, float *c,
                      int64_t ldc);

/// The same in double for interp::Precision::Float64: plain loops, every
/// product and sum rounded in double (about 2^-53 relative), far below any
/// quantization step this mode exists to resolve.
void matmulAccumulate(int64_t m, int64_t n, int64_t k, const double *a,
                      int64_t lda, const double *b, int64_t ldb, double *c,
                      int64_t ldc);

/// While one is alive, matrix products on the thread that made it run on
/// that thread only: Session::runEach already gives each image a thread.
class MatmulOnCallingThread {
public:
  MatmulOnCallingThread();
  ~MatmulOnCallingThread();
  MatmulOnCallingThread(const MatmulOnCallingThread &) = delete;
  MatmulOnCallingThread &operator=(const MatmulOnCallingThread &) = delete;

private:
  bool previous_;
};

struct MatmulKernel;
/// The same with a given kernel (tests compare the kernels).
void matmulAccumulateWith(const MatmulKernel &kernel, int64_t m, int64_t n,
                          int64_t k, const float *a, int64_t lda,
                          const float *b, int64_t ldb, float *c, int64_t ldc);

/// The left operand a[m×k] converted and laid out for the widest kernel,
/// once: a Conv's weights are the same for every image of a calibration run
/// (interp::Session keeps them), and converting them was a fifth of it.
struct PackedMatrixA {
  const MatmulKernel *kernel = nullptr;
  int64_t m = 0, k = 0;
  std::vector<double> values;
};
PackedMatrixA packMatrixA(int64_t m, int64_t k, const float *a, int64_t lda);
/// c[m×n] += a · b with a packed by packMatrixA: the same bits as
/// matmulAccumulate.
void matmulAccumulatePacked(const PackedMatrixA &a, int64_t n, const float *b,
                            int64_t ldb, float *c, int64_t ldc);

} // namespace mars::interp
