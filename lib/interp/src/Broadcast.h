#pragma once
/// \file
/// Numpy-style broadcasting: strides of an operand viewed in the shape of
/// the result, and a loop over the result that follows them.

#include "mars/ir/Tensor.h"

#include <cstdint>
#include <vector>

namespace mars::interp {

/// Element strides of a row-major tensor of `shape` viewed as broadcast to
/// `outShape`: shapes are aligned at the right, and dimensions that are
/// missing or of size 1 get stride 0. Requires `shape` to be broadcastable.
std::vector<int64_t> broadcastStrides(const ir::Shape &shape,
                                      const ir::Shape &outShape);

/// Calls `f(outIndex, offsetA, offsetB)` for every element of `outShape` in
/// row-major order, with the offsets of the matching operand elements under
/// `stridesA` and `stridesB`. The innermost dimension is a plain loop, so
/// the callback inlines into it.
template <typename F>
void forEachBroadcast(const ir::Shape &outShape,
                      const std::vector<int64_t> &stridesA,
                      const std::vector<int64_t> &stridesB, F &&f) {
  const size_t rank = outShape.size();
  if (ir::numElements(outShape) == 0)
    return;
  if (rank == 0) {
    f(int64_t{0}, int64_t{0}, int64_t{0});
    return;
  }
  const int64_t inner = outShape[rank - 1];
  const int64_t innerA = stridesA[rank - 1], innerB = stridesB[rank - 1];
  std::vector<int64_t> counter(rank, 0);
  int64_t out = 0, offA = 0, offB = 0;
  while (true) {
    for (int64_t i = 0; i < inner; ++i)
      f(out + i, offA + i * innerA, offB + i * innerB);
    out += inner;
    // Advance the odometer over the outer dimensions.
    size_t d = rank - 1;
    while (true) {
      if (d == 0)
        return;
      --d;
      ++counter[d];
      offA += stridesA[d];
      offB += stridesB[d];
      if (counter[d] < outShape[d])
        break;
      offA -= stridesA[d] * counter[d];
      offB -= stridesB[d] * counter[d];
      counter[d] = 0;
    }
  }
}

} // namespace mars::interp
