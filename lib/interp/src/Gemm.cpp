/// \file
/// Gemm (Y = alpha * A' * B' + beta * C, C broadcast to [M, N]) and MatMul
/// (numpy matmul: 1-D operands promoted, batch dimensions broadcast).

#include "Broadcast.h"
#include "DTypeDispatch.h"
#include "Kernels.h"
#include "MatrixMultiply.h"

#include <vector>

namespace mars::interp {

namespace {

/// The row-major transpose of a rows×cols matrix.
template <typename T>
std::vector<T> transposed(const T *a, int64_t rows, int64_t cols) {
  std::vector<T> t(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      t[c * rows + r] = a[r * cols + c];
  return t;
}

/// Every operand float32, or every one float64 (Precision::Float64).
bool allFloat(const KernelArgs &args) {
  const ir::DType dtype = args.output(0).dtype();
  if (dtype != ir::DType::Float32 && dtype != ir::DType::Float64)
    return false;
  for (const ir::Tensor *t : args.inputs)
    if (t && t->dtype() != dtype)
      return false;
  return true;
}

template <typename T> Status gemm(const KernelArgs &args) {
  const ir::Tensor &a = args.input(0), &b = args.input(1);
  ir::Tensor &y = args.output(0);
  if (a.shape().size() != 2 || b.shape().size() != 2)
    return makeError("A and B must be matrices");
  const bool transA = args.attrs().getInt("transA", 0) != 0;
  const bool transB = args.attrs().getInt("transB", 0) != 0;
  const float alpha = args.attrs().getFloat("alpha", 1.0f);
  const float beta = args.attrs().getFloat("beta", 1.0f);
  const int64_t m = a.shape()[transA ? 1 : 0], k = a.shape()[transA ? 0 : 1];
  const int64_t kb = b.shape()[transB ? 1 : 0], n = b.shape()[transB ? 0 : 1];
  if (k != kb)
    return makeError("inner dimensions ", k, " and ", kb, " differ");
  MARS_CHECK((y.shape() == ir::Shape{m, n}), "Gemm output shape");

  std::vector<T> at, bt;
  const T *pa = a.data<T>(), *pb = b.data<T>();
  if (transA) {
    at = transposed(pa, k, m);
    pa = at.data();
  }
  if (transB) {
    bt = transposed(pb, n, k);
    pb = bt.data();
  }
  std::vector<T> product(static_cast<size_t>(m * n), T(0));
  matmulAccumulate(m, n, k, pa, k, pb, n, product.data(), n);

  T *py = y.data<T>();
  for (int64_t i = 0; i < m * n; ++i)
    py[i] = alpha * product[i];
  if (!args.hasInput(2) || beta == 0.0f)
    return Status::success();
  const ir::Tensor &c = args.input(2);
  const T *pc = c.data<T>();
  const std::vector<int64_t> none(2, 0);
  forEachBroadcast(
      y.shape(), broadcastStrides(c.shape(), y.shape()), none,
      [&](int64_t o, int64_t ic, int64_t) { py[o] += beta * pc[ic]; });
  return Status::success();
}

template <typename T> Status matMul(const KernelArgs &args) {
  const ir::Tensor &a = args.input(0), &b = args.input(1);
  ir::Tensor &y = args.output(0);
  if (a.shape().empty() || b.shape().empty())
    return makeError("MatMul operands must have rank >= 1");
  // numpy: a 1-D A is a row [1, K], a 1-D B a column [K, 1]; the added
  // dimension is dropped from the result again (y's shape already is).
  ir::Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1)
    as.insert(as.begin(), 1);
  if (bs.size() == 1)
    bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back();
  const int64_t kb = bs[bs.size() - 2], n = bs.back();
  if (k != kb)
    return makeError("inner dimensions ", k, " and ", kb, " differ");

  // Broadcast the batch dimensions, counting in whole matrices.
  const ir::Shape batchA(as.begin(), as.end() - 2),
      batchB(bs.begin(), bs.end() - 2);
  ir::Shape batch(std::max(batchA.size(), batchB.size()), 1);
  for (size_t i = 0; i < batch.size(); ++i) {
    const size_t fromEnd = batch.size() - i;
    const int64_t da =
        fromEnd <= batchA.size() ? batchA[batchA.size() - fromEnd] : 1;
    const int64_t db =
        fromEnd <= batchB.size() ? batchB[batchB.size() - fromEnd] : 1;
    if (da != db && da != 1 && db != 1)
      return makeError("batch dimensions ", ir::shapeToString(batchA), " and ",
                       ir::shapeToString(batchB), " do not broadcast");
    batch[i] = da == 1 ? db : da;
  }
  MARS_CHECK(y.numElements() == ir::numElements(batch) * m * n,
             "MatMul output shape");
  std::fill(y.data<T>(), y.data<T>() + y.numElements(), T(0));
  forEachBroadcast(batch, broadcastStrides(batchA, batch),
                   broadcastStrides(batchB, batch),
                   [&](int64_t o, int64_t ia, int64_t ib) {
                     matmulAccumulate(m, n, k, a.data<T>() + ia * m * k, k,
                                      b.data<T>() + ib * k * n, n,
                                      y.data<T>() + o * m * n, n);
                   });
  return Status::success();
}

} // namespace

Status runGemm(const KernelArgs &args) {
  if (!allFloat(args))
    return makeError("only float32 Gemm is supported");
  return visitFloatDType(args.output(0).dtype(),
                         [&](auto zero) { return gemm<decltype(zero)>(args); });
}

Status runMatMul(const KernelArgs &args) {
  if (!allFloat(args))
    return makeError("only float32 MatMul is supported");
  return visitFloatDType(args.output(0).dtype(), [&](auto zero) {
    return matMul<decltype(zero)>(args);
  });
}

} // namespace mars::interp
