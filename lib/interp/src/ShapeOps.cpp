/// \file
/// Data-movement ops, dtype-agnostic (they move bytes): Flatten, Reshape,
/// Identity and Dropout (copies), Pad (constant mode) and Concat.

#include "Kernels.h"

#include <algorithm>
#include <cstring>

namespace mars::interp {

namespace {

/// Copies input 0 into output 0 unchanged but for the shape.
void copyBytes(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0);
  ir::Tensor &y = args.output(0);
  MARS_CHECK(x.dtype() == y.dtype() && x.byteSize() == y.byteSize(),
             "copy changes the element count or dtype");
  if (x.byteSize() != 0)
    std::memcpy(y.bytes().data(), x.bytes().data(), x.byteSize());
}

int64_t normalizeAxis(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

} // namespace

Status runCopy(const KernelArgs &args) {
  copyBytes(args);
  return Status::success();
}

/// Inference-mode Dropout is the identity, and its optional mask output is
/// all true. The IR has no bool; the importer gives the mask u8 (1 = true).
/// Training mode would need a random mask and is not supported.
Status runDropout(const KernelArgs &args) {
  if (args.hasInput(2) && args.input(2).numElements() == 1 &&
      args.input(2).getAsInt64(0) != 0)
    return makeError("training_mode=1 is not supported");
  if (args.hasOutput(1)) {
    ir::Tensor &mask = args.output(1);
    if (mask.dtype() != ir::DType::UInt8)
      return makeError("the mask output must be u8, got ",
                       ir::dtypeName(mask.dtype()));
    std::fill(mask.bytes().begin(), mask.bytes().end(), uint8_t{1});
  }
  copyBytes(args);
  return Status::success();
}

/// pads = [b_1, ..., b_r, e_1, ..., e_r]: output dim i is
/// in_i + b_i + e_i, and output index o reads input index o - b_i. Negative
/// pads crop. Positions with no input take constant_value (default 0).
Status runPad(const KernelArgs &args) {
  const std::string mode = args.attrs().getString("mode", "constant");
  if (mode != "constant")
    return makeError("mode '", mode, "' is not supported (only constant)");
  const ir::Tensor &x = args.input(0);
  ir::Tensor &y = args.output(0);
  MARS_CHECK(x.dtype() == y.dtype(), "Pad dtype");
  const size_t rank = x.shape().size();
  const std::vector<int64_t> pads = args.input(1).toInt64s();
  if (pads.size() != 2 * rank)
    return makeError("pads has ", pads.size(), " values for rank ", rank);
  for (size_t d = 0; d < rank; ++d)
    MARS_CHECK(y.shape()[d] == x.shape()[d] + pads[d] + pads[rank + d],
               "Pad output shape");

  // Fill with the constant, then copy the overlapping rows.
  const size_t elem = ir::dtypeSize(x.dtype());
  if (args.hasInput(2)) {
    const ir::Tensor &value = args.input(2);
    MARS_CHECK(value.dtype() == x.dtype(), "Pad constant_value dtype");
    if (value.numElements() != 1)
      return makeError("constant_value is not a scalar");
    for (int64_t i = 0; i < y.numElements(); ++i)
      std::memcpy(y.bytes().data() + i * elem, value.bytes().data(), elem);
  } else {
    std::fill(y.bytes().begin(), y.bytes().end(), 0);
  }
  if (rank == 0) {
    copyBytes(args);
    return Status::success();
  }
  if (y.numElements() == 0 || x.numElements() == 0)
    return Status::success();

  const ir::Shape &xs = x.shape(), &ys = y.shape();
  std::vector<int64_t> xStride(rank, 1), yStride(rank, 1);
  for (size_t d = rank - 1; d-- > 0;) {
    xStride[d] = xStride[d + 1] * xs[d + 1];
    yStride[d] = yStride[d + 1] * ys[d + 1];
  }
  // The innermost dimension is a contiguous run: output [lo, hi) reads input
  // [lo - b, hi - b).
  const size_t last = rank - 1;
  const int64_t lo = std::max<int64_t>(0, pads[last]);
  const int64_t hi = std::min(ys[last], xs[last] + pads[last]);
  std::vector<int64_t> counter(last, 0); // over output dims 0..last-1
  while (true) {
    int64_t src = 0, dst = 0;
    bool inside = true;
    for (size_t d = 0; d < last; ++d) {
      const int64_t i = counter[d] - pads[d];
      inside = inside && i >= 0 && i < xs[d];
      src += i * xStride[d];
      dst += counter[d] * yStride[d];
    }
    if (inside && hi > lo)
      std::memcpy(y.bytes().data() + (dst + lo) * elem,
                  x.bytes().data() + (src + lo - pads[last]) * elem,
                  static_cast<size_t>(hi - lo) * elem);
    size_t d = last;
    while (d > 0 && ++counter[d - 1] == ys[d - 1])
      counter[--d] = 0;
    if (d == 0)
      return Status::success();
  }
}

/// Concatenation along `axis`: for each index of the dimensions before the
/// axis, the inputs' contiguous blocks follow each other.
Status runConcat(const KernelArgs &args) {
  ir::Tensor &y = args.output(0);
  const int64_t rank = static_cast<int64_t>(y.shape().size());
  const int64_t axis = normalizeAxis(args.attrs().getInt("axis", 0), rank);
  if (axis < 0 || axis >= rank)
    return makeError("axis ", args.attrs().getInt("axis", 0),
                     " is out of range for rank ", rank);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= y.shape()[d];
  const size_t elem = ir::dtypeSize(y.dtype());
  std::vector<size_t> blocks; // bytes per outer index, per input
  size_t total = 0;
  for (const ir::Tensor *t : args.inputs) {
    MARS_CHECK(t && t->dtype() == y.dtype() &&
                   static_cast<int64_t>(t->shape().size()) == rank,
               "Concat input type");
    size_t block = elem;
    for (int64_t d = axis; d < rank; ++d)
      block *= static_cast<size_t>(t->shape()[d]);
    blocks.push_back(block);
    total += block;
  }
  MARS_CHECK(total * static_cast<size_t>(outer) == y.byteSize(),
             "Concat output shape");
  uint8_t *dst = y.bytes().data();
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t i = 0; i < blocks.size(); ++i) {
      if (blocks[i] == 0)
        continue;
      std::memcpy(dst, args.inputs[i]->bytes().data() + o * blocks[i],
                  blocks[i]);
      dst += blocks[i];
    }
  }
  return Status::success();
}

} // namespace mars::interp
