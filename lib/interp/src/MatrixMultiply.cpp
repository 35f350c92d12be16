#include "MatrixMultiply.h"

#include "MatmulKernels.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace mars::interp {

namespace {

/// Work below this many multiply-adds runs on the calling thread: starting
/// a thread costs tens of microseconds.
constexpr int64_t kThreadWork = int64_t(1) << 22;

/// Set by MatmulOnCallingThread.
thread_local bool onCallingThread = false;

/// The widest kernel this CPU runs (checked once).
const MatmulKernel &bestKernel() {
  static const MatmulKernel &kernel = detectMatmulKernel();
  return kernel;
}

/// Column panels [first, last) of the kernel's width: pack b's panel to
/// double, then sweep every row block of the packed a over it.
void panels(const MatmulKernel &kernel, int64_t first, int64_t last, int64_t m,
            int64_t n, int64_t k, const double *packedA, const float *b,
            int64_t ldb, float *c, int64_t ldc) {
  const int64_t nr = kernel.columns;
  std::vector<double> packedB(size_t(k * nr));
  for (int64_t panel = first; panel < last; ++panel) {
    const int64_t j0 = panel * nr;
    const int64_t cols = std::min(nr, n - j0);
    packPanelB(k, cols, nr, b + j0, ldb, packedB.data());
    kernel.sweepRows(m, k, cols, packedA, packedB.data(), c + j0, ldc);
  }
}

/// a to double once, interleaved by row block, so the kernel broadcasts
/// consecutive doubles; every column panel reuses it.
PackedMatrixA packWith(const MatmulKernel &kernel, int64_t m, int64_t k,
                       const float *a, int64_t lda) {
  PackedMatrixA packed;
  packed.kernel = &kernel;
  packed.m = m;
  packed.k = k;
  packed.values.resize(size_t(packedRowsA(m, kernel.rows) * k));
  packA(m, k, kernel.rows, a, lda, packed.values.data());
  return packed;
}

} // namespace

MatmulOnCallingThread::MatmulOnCallingThread() : previous_(onCallingThread) {
  onCallingThread = true;
}
MatmulOnCallingThread::~MatmulOnCallingThread() { onCallingThread = previous_; }

PackedMatrixA packMatrixA(int64_t m, int64_t k, const float *a, int64_t lda) {
  return packWith(bestKernel(), m, k, a, lda);
}

void matmulAccumulate(int64_t m, int64_t n, int64_t k, const float *a,
                      int64_t lda, const float *b, int64_t ldb, float *c,
                      int64_t ldc) {
  matmulAccumulatePacked(packMatrixA(m, k, a, lda), n, b, ldb, c, ldc);
}

void matmulAccumulate(int64_t m, int64_t n, int64_t k, const double *a,
                      int64_t lda, const double *b, int64_t ldb, double *c,
                      int64_t ldc) {
  // Row by row, b's rows streamed in order: the inner loop is an axpy the
  // compiler vectorises.
  for (int64_t i = 0; i < m; ++i) {
    double *ci = c + i * ldc;
    for (int64_t p = 0; p < k; ++p) {
      const double aip = a[i * lda + p];
      const double *bp = b + p * ldb;
      for (int64_t j = 0; j < n; ++j)
        ci[j] += aip * bp[j];
    }
  }
}

void matmulAccumulateWith(const MatmulKernel &kernel, int64_t m, int64_t n,
                          int64_t k, const float *a, int64_t lda,
                          const float *b, int64_t ldb, float *c, int64_t ldc) {
  matmulAccumulatePacked(packWith(kernel, m, k, a, lda), n, b, ldb, c, ldc);
}

void matmulAccumulatePacked(const PackedMatrixA &a, int64_t n, const float *b,
                            int64_t ldb, float *c, int64_t ldc) {
  const int64_t m = a.m, k = a.k;
  if (m <= 0 || n <= 0)
    return;
  const MatmulKernel &kernel = *a.kernel;
  const int64_t panelCount = (n + kernel.columns - 1) / kernel.columns;
  const int64_t hardware =
      onCallingThread ? 1 : std::max(1u, std::thread::hardware_concurrency());
  const int64_t threads = std::min(
      {hardware, panelCount, std::max<int64_t>(1, m * n * k / kThreadWork)});
  if (threads <= 1) {
    panels(kernel, 0, panelCount, m, n, k, a.values.data(), b, ldb, c, ldc);
    return;
  }
  // Threads take disjoint column panels: each element of c is still
  // computed by one thread in one order, so the result does not depend on
  // the thread count.
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < threads; ++t) {
    const int64_t first = panelCount * t / threads;
    const int64_t last = panelCount * (t + 1) / threads;
    pool.emplace_back(panels, std::cref(kernel), first, last, m, n, k,
                      a.values.data(), b, ldb, c, ldc);
  }
  for (std::thread &thread : pool)
    thread.join();
}

} // namespace mars::interp
