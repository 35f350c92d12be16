/// \file
/// Softmax along one axis (opset 13): exp(x - max) / sum(exp(x - max)),
/// subtracting the maximum so that large inputs do not overflow.

#include "DTypeDispatch.h"
#include "Kernels.h"

#include <cmath>

namespace mars::interp {

namespace {

/// The kernel in T (float, or double in Precision::Float64).
template <typename T> Status compute(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0);
  ir::Tensor &y = args.output(0);
  MARS_CHECK(y.shape() == x.shape(), "Softmax output shape");
  const int64_t rank = static_cast<int64_t>(x.shape().size());
  int64_t axis = args.attrs().getInt("axis", -1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return makeError("axis ", args.attrs().getInt("axis", -1),
                     " is out of range for rank ", rank);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape()[d];
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= x.shape()[d];
  const int64_t len = x.shape()[axis];
  if (len == 0)
    return Status::success();

  const T *px = x.data<T>();
  T *py = y.data<T>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T *src = px + o * len * inner + i;
      T *dst = py + o * len * inner + i;
      T maxV = src[0];
      for (int64_t j = 1; j < len; ++j)
        maxV = std::fmax(maxV, src[j * inner]);
      double sum = 0;
      for (int64_t j = 0; j < len; ++j) {
        dst[j * inner] = std::exp(src[j * inner] - maxV);
        sum += dst[j * inner];
      }
      for (int64_t j = 0; j < len; ++j)
        dst[j * inner] = static_cast<T>(dst[j * inner] / sum);
    }
  }
  return Status::success();
}

} // namespace

Status runSoftmax(const KernelArgs &args) {
  const ir::DType dtype = args.input(0).dtype();
  if (ir::isInteger(dtype))
    return makeError("only float32 Softmax is supported");
  return visitFloatDType(
      dtype, [&](auto zero) { return compute<decltype(zero)>(args); });
}

} // namespace mars::interp
