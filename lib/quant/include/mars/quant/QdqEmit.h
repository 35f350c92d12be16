#pragma once
/// \file
/// The QDQ form of a quantized model, written once for post-training
/// quantization (passes/ Quantize) and training's export (lib/train
/// ExportQdq): the nodes and constants lowerToInteger (Lower.h) reads back.
/// What is quantized where, and to which integers, each caller decides
/// (Placement.h, its own weight rounding); how that is written is here.

#include "mars/ir/Graph.h"

#include <vector>

namespace mars::quant {

/// [Clip →] QuantizeLinear → DequantizeLinear of `v` at `scale` (zero point
/// 0, int8/uint8 container). `clip` adds Clip(−scale·qmax or 0,
/// scale·qmax) first, for bit widths below the container's. Returns the
/// QuantizeLinear output (whose type stampQuant sets later) and the
/// dequantized value; readers of `v` are not rewired.
struct QdqPoint {
  ir::ValueId quantized = ir::kNoValue, dequantized = ir::kNoValue;
};
QdqPoint emitQuantPoint(ir::Graph &g, ir::ValueId v, int bits, bool isSigned,
                        float scale, bool clip);

/// A weighted layer's constants: DequantizeLinear (axis 0) of the int8
/// weights `w` (shape [out, ...], per-output-channel `scales`, `bits`
/// recorded in the tensor's quant params) and of the bias rounded to int32
/// at scale float(scales[c] × inputScale). Names start with `base`.
struct QdqLayerInputs {
  ir::ValueId weight = ir::kNoValue, bias = ir::kNoValue;
};
QdqLayerInputs emitLayerConstants(ir::Graph &g, const std::string &base,
                                  ir::Tensor w, int bits,
                                  const std::vector<float> &scales,
                                  const std::vector<double> &bias,
                                  double inputScale);

/// Sets a QuantizeLinear output's type quant params (bits, scale, zero
/// point 0); call after shape inference, which rebuilds the types.
void stampQuant(ir::Graph &g, ir::ValueId quantized, int bits, float scale);

} // namespace mars::quant
