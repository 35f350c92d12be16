#pragma once
// Fake quantization with straight-through estimators. Forward values are the
// integer grid the deployed model uses; gradients pass through rounding
// unchanged (STE), and through the activation clip as in PACT.

#include <torch/torch.h>

namespace mars::train {

/// Symmetric per-output-channel scale of `w` (dim 0) for `bits`-bit weights:
/// max|w_c| / (2^(bits-1) - 1), optionally rounded to a power of two.
torch::Tensor weightScales(const torch::Tensor &w, int bits, bool powerOfTwo);

/// w quantized to scale × clamp(round(w / scale)) per output channel, with an
/// identity gradient.
torch::Tensor fakeQuantWeight(const torch::Tensor &w, int bits,
                              bool powerOfTwo);

/// The activation scale for clip `alpha`: alpha / qmax, or its nearest power
/// of two. qmax = 2^bits - 1 unsigned, 2^(bits-1) - 1 signed.
torch::Tensor activationScale(const torch::Tensor &alpha, int bits,
                              bool isSigned, bool powerOfTwo);

/// Clips x to [0, alpha] (or [-alpha, alpha] when signed) and rounds to the
/// grid of activationScale(); alpha receives PACT's gradient.
torch::Tensor fakeQuantActivation(const torch::Tensor &x,
                                  const torch::Tensor &alpha, int bits,
                                  bool isSigned, bool powerOfTwo);

/// Rounds x to multiples of `scale` (a fixed grid, no clip), identity
/// gradient; used for average pools, which stay on their input's grid.
torch::Tensor fakeQuantToGrid(const torch::Tensor &x,
                              const torch::Tensor &scale, int bits,
                              bool isSigned);

} // namespace mars::train
