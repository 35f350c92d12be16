#pragma once
// 2×2 stride-2 max pooling (LeNet's, VGG's) as one autograd Function.
//
// Debian's LibTorch runs an NCHW max_pool2d as a scalar loop with index
// arithmetic per output: on a lenet5 QAT step at batch 128 it took about as
// long as both forward convolutions (bench_train_step --profile). Here each
// output is the larger of four inputs read as SSE2 pairs, and the window's
// winner is kept as one byte (0..3) for the backward.
//
// Bit-identical to torch::max_pool2d forward and backward: the same window
// order and comparison (a later input wins only when it is greater, or NaN),
// and each input's gradient written as 0 + its output's gradient (torch
// zero-fills and adds; the windows do not overlap, so nothing else is
// added). test/train/MaxPoolKernelTest.cpp compares the bits.

#include <torch/torch.h>

#include <vector>

namespace mars::train {

/// Whether maxPool2x2 computes torch::max_pool2d(x, kernel, strides,
/// pads (one per spatial side), dilations, ceilMode): x float32 NCHW on the
/// CPU, kernel and strides 2, no padding, dilation 1, and no partial window
/// (ceilMode off, or an even height and width).
bool maxPool2x2Applies(const torch::Tensor &x,
                       const std::vector<int64_t> &kernel,
                       const std::vector<int64_t> &strides,
                       const std::vector<int64_t> &pads,
                       const std::vector<int64_t> &dilations, bool ceilMode);

/// torch::max_pool2d(x, 2, 2) with its gradient; requires maxPool2x2Applies.
torch::Tensor maxPool2x2(const torch::Tensor &x);

} // namespace mars::train
