#pragma once
// Bit-for-bit comparison of float32 tensors for the lib/train kernel tests.
#include <torch/torch.h>

#include <cstring>

namespace mars::train::test {

/// Same shape and the same bit patterns (so -0 and +0 differ, and NaNs
/// compare equal to themselves); float32 only.
inline bool sameBits(const torch::Tensor &a, const torch::Tensor &b) {
  if (a.sizes() != b.sizes())
    return false;
  auto ca = a.contiguous();
  auto cb = b.contiguous();
  return std::memcmp(ca.data_ptr<float>(), cb.data_ptr<float>(),
                     size_t(ca.numel()) * sizeof(float)) == 0;
}

} // namespace mars::train::test
