#pragma once
// QAT with BN on batch statistics (PyTorch's ConvBn scheme) convolves with
// the weight folded by BN's per-channel factor, then divides the factor out
// again before batch_norm: y = conv / factor + bias, per channel. As torch
// ops that is a broadcast division and addition whose backwards reduce over
// the batch and the pixels (DivBackward, neg, mul, sum_to): on a resnet20
// step at batch 128, about a third of the QAT step's extra time
// (bench_train_step --profile, the (c0) trace). This kernel does it in one
// pass forward and one backward.
//
// Forward values and the input's gradient are bit-identical to the torch
// expression; the factor's and the bias's gradients are summed per channel
// in double in a fixed order (the same bits at any thread count; torch sums
// in float). test/train/ChannelScaleKernelTest.cpp checks both.

#include <torch/torch.h>

namespace mars::train {

/// Whether divideChannels takes these operands: y float32 on the CPU, 2-D
/// (N, C) or 4-D (N, C, H, W); factor (and bias, when defined) float32 with
/// C elements.
bool divideChannelsApplies(const torch::Tensor &y, const torch::Tensor &factor,
                           const torch::Tensor &bias);

/// y / factor[c] + bias[c] over the channel dimension 1 (no bias term when
/// `bias` is undefined), with gradients to all three.
torch::Tensor divideChannels(const torch::Tensor &y,
                             const torch::Tensor &factor,
                             const torch::Tensor &bias);

} // namespace mars::train
