#pragma once
// The trained module as a compressed QDQ graph: BN folded, integer weights
// (int8 storage of `bits`-bit values) with per-channel scales, int32 biases,
// Clip + QuantizeLinear + DequantizeLinear at every quantization point. This
// is what `-o compressed.onnx` holds and what lib/quant lowers to integers.

#include "mars/train/GraphModule.h"

namespace mars::train {

Expected<ir::Graph> exportCompressed(const GraphModule &module);

} // namespace mars::train
