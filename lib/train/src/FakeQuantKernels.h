#pragma once
// The elementwise part of activation fake quantization as single-pass
// kernels with their own backward.
//
// Written as torch ops, clip + round + straight-through is about seven
// passes over the activation forward and six backward (relu, minimum, div,
// round, mul, sub, add; their backwards with masks and a reduction). On a
// resnet20 QAT step at batch 128 that was more time than the convolutions
// (bench_train_step --profile). These kernels read x once forward and x and
// the gradient once backward.
//
// Forward values are bit-identical to the torch expressions they replace
// (the same float operations in the same order; round half to even), and
// x's gradient is too, ties included: where x equals a clip bound, torch's
// minimum/maximum give each operand half the gradient, and so do these.
// The clip's gradient is summed in double over fixed chunks, so it is the
// same at any thread count (torch's float sum is not bit-equal to it).
// test/train/FakeQuantKernelsTest.cpp checks all of this against the torch
// expressions.

#include <torch/torch.h>

namespace mars::train {

/// Whether the kernels below take these operands: `x` float32 on the CPU,
/// each of `scalars` (the clip, the scale) one finite float32 on the CPU.
/// Otherwise (a double scale, a NaN clip after divergence) the caller keeps
/// the torch expression, whose type promotion and NaNs the kernels do not
/// copy.
bool fusedFakeQuantApplies(const torch::Tensor &x,
                           std::initializer_list<torch::Tensor> scalars);

/// y + (round(y / scale) * scale - y) with y = min(relu(x), clip) (unsigned)
/// or max(min(x, clip), -clip) (signed), in float32 as torch computes it.
/// Requires fusedFakeQuantApplies(x, {clip, scale}); `clip` may require a
/// gradient (PACT), `scale` gets none. Gradient to x: through the clip
/// only (rounding is straight-through).
torch::Tensor clipAndRound(const torch::Tensor &x, const torch::Tensor &clip,
                           const torch::Tensor &scale, bool isSigned);

/// x + (clamp(round(x / scale), lo, hi) * scale - x); identity gradient.
/// Requires fusedFakeQuantApplies(x, {scale}).
torch::Tensor roundToGrid(const torch::Tensor &x, const torch::Tensor &scale,
                          double lo, double hi);

} // namespace mars::train
