#pragma once
// The tail of a QAT step with BN on batch statistics (PyTorch's ConvBn
// scheme, `--freeze-bn-after`'s first epochs): batch_norm(conv / factor +
// bias) in training mode, as one autograd Function. As torch ops it was a
// division and ATen's batch_norm, whose CPU statistics are one running
// double sum per channel (latency-bound), with about two more passes over
// the activation each way. Here, per channel, it is an affine map of the
// convolution's output: one pass of sums and one affine pass, forward and
// backward, each walking the activation in memory order. The sums are in
// double, over eight fixed lanes per chunk of eight images, the chunks added
// in order: the same bits at any thread count. BatchNormKernel.cpp derives
// the closed forms.
//
// Not bit-identical to the torch ops (other summation orders; the factor's
// gradient in closed form, the bias's exactly zero).
// test/train/BatchNormKernelTest.cpp holds it and the float torch ops to the
// same bounds against the torch ops in double.

#include <torch/torch.h>

namespace mars::train {

/// Operands of one batch-normalised layer in training mode.
struct BatchNormOperands {
  torch::Tensor gamma, beta;
  torch::Tensor runningMean, runningVar; ///< Updated in place, as ATen does.
  double momentum = 0.1, eps = 1e-5;
};

/// Whether divideBatchNorm takes these operands: y float32 on the CPU, 2-D
/// (N, C) or 4-D (N, C, H, W) with more than one value per channel; factor,
/// bias (when defined) and every BN tensor contiguous float32 with C
/// elements.
bool divideBatchNormApplies(const torch::Tensor &y, const torch::Tensor &factor,
                            const torch::Tensor &bias,
                            const BatchNormOperands &bn);

/// batch_norm(y / factor[c] + bias[c], training = true) over channel
/// dimension 1 (no bias term when `bias` is undefined), with gradients to y,
/// factor, bias, gamma and beta; updates bn's running statistics.
torch::Tensor divideBatchNorm(const torch::Tensor &y,
                              const torch::Tensor &factor,
                              const torch::Tensor &bias,
                              const BatchNormOperands &bn);

} // namespace mars::train
