#pragma once
// The quantized forward pass through a saturating ADC (issue 11, point 5):
// what a Conv or Gemm computes on the chip when a column count can exceed
// the ADC's range. The integer reference (lib/quant runConvAdc) defines the
// arithmetic; this computes it on whole training batches (bit masks and
// popcounts over integer copies of the operands), so that training sees the
// clipped sums the chip will produce.

#include "mars/quant/IntegerNet.h"

#include <torch/torch.h>

#include <vector>

namespace mars::train {

/// A weighted layer's geometry as the ADC sees it. Gemm is a 1×1 conv over
/// (features, 1, 1), as lib/quant lowers it.
struct AdcLayerShape {
  bool isConv = true;
  std::vector<int64_t> strides{1, 1}, pads{0, 0, 0, 0}, dilations{1, 1};
  int64_t groups = 1;
};

/// The operands' integer types.
struct AdcOperands {
  int inputBits = 8;
  bool inputSigned = false;
  int weightBits = 4;
};

/// The accumulators (without bias) of conv(qx, qw) through `adc`: per output
/// pixel and channel, every (row group of wl_on rows in the chip's row order
/// (ky × kW + kx) × Cin + ic, input slice, weight bit) count is clipped to
/// 2^adc_bits − 1 and shifted into place. `qx` [N, Cin, H, W] (or [N, F])
/// and `qw` [O, Cin/groups, kh, kw] (or [O, F]) hold integers; the result
/// [N, O, OH, OW] (or [N, O]) holds integers too, as float. No gradient.
torch::Tensor adcAccumulators(const torch::Tensor &qx, const torch::Tensor &qw,
                              const AdcLayerShape &shape,
                              const AdcOperands &types,
                              const quant::AdcModel &adc);

} // namespace mars::train
