#pragma once
/// \file
/// Executes an IntegerNet: the integer reference of DESIGN.md §3.

#include "mars/ir/Tensor.h"
#include "mars/quant/IntegerNet.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <vector>

namespace mars::quant {

/// Quantizes one real input image (C×H×W floats) to the network's input type
/// as QuantizeLinear does: q = clamp(round_half_even(float32(x) / scale)),
/// after the float32 normalisation and clip.
std::vector<int32_t> quantizeInput(const IntegerNet &net, const float *image);

/// Runs the network on one quantized input and returns the output value's
/// integers (accumulators for a logits output).
std::vector<int32_t> runInteger(const IntegerNet &net,
                                const std::vector<int32_t> &input);

/// Runs the network on one quantized input and returns every value's
/// integers, indexed like `net.values` (for layer-by-layer comparisons).
std::vector<std::vector<int32_t>>
runIntegerValues(const IntegerNet &net, const std::vector<int32_t> &input);

/// The real value of output element i: accumulator × logit scale of its
/// channel, or q × scale.
double outputReal(const IntegerNet &net, const std::vector<int32_t> &out,
                  int64_t i);

/// Index of the largest real output (lowest index on ties): the predicted
/// class.
int argmaxClass(const IntegerNet &net, const std::vector<int32_t> &out);

/// Runs the network on each image of the batch `x` (N×C×H×W, any dtype;
/// quantizeInput of its values as float32) and returns the real values of
/// its outputs (outputReal), float32 [N, K] for an output of K channels of
/// one pixel, else [N, C, H, W]: what `marsc run` writes for the compiled
/// program. Fails when an image of `x` is not the network's input size.
Expected<ir::Tensor> runIntegerBatch(const IntegerNet &net,
                                     const ir::Tensor &x);

/// One layer, exposed for kernel tests: reads `values` for the layer's inputs
/// and writes its output.
void runLayer(const IntegerNet &net, const IntLayer &layer,
              std::vector<std::vector<int32_t>> &values);

} // namespace mars::quant
