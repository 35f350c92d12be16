#pragma once
/// \file
/// QDQ graph → IntegerNet.

#include "mars/ir/Graph.h"
#include "mars/quant/IntegerNet.h"
#include "mars/support/Error.h"

namespace mars::quant {

/// ir::Graph::metadata key, value "1": the model was quantized with
/// power-of-two scales (its QDQ file records it, so every reader lowers it
/// the same way).
inline constexpr const char *kPowerOfTwoScalesKey =
    "integer.power_of_two_scales";

/// ir::Graph::metadata key: the ADC the model was trained for, as
/// AdcModel::describe() names it ("exact" or the saturating ADC's wl_on,
/// adc_bits and input_bits_per_cycle). marsc train writes it; marsc compile
/// warns when the target arch's ADC differs and records it in the program.
inline constexpr const char *kTrainedAdcKey = "integer.trained_adc";

struct LowerOptions {
  /// Round every requantization multiplier to a power of two (shift only).
  /// Also on when the graph's metadata says kPowerOfTwoScalesKey = "1".
  bool powerOfTwoScales = false;
};

/// Builds the integer network of a quantized graph in QDQ form: the input
/// goes through QuantizeLinear; every activation is QuantizeLinear →
/// DequantizeLinear (zero point 0); Conv/Gemm/MatMul weights are
/// DequantizeLinear of integer constants (per-tensor or per-output-channel);
/// biases are DequantizeLinear of int32 constants or float constants;
/// Relu/Clip before a QuantizeLinear become the clamp; MaxPool, Flatten,
/// Reshape, Identity and Dropout pass quantized values through; AveragePool,
/// GlobalAveragePool and Add must be followed by QuantizeLinear; the final
/// Conv/Gemm may stay unquantized (its int32 accumulators are the logits).
/// Anything else, BatchNormalization included, is an error naming the node.
Expected<IntegerNet> lowerToInteger(const ir::Graph &graph,
                                    const LowerOptions &options = {});

/// Whether `graph` has a QuantizeLinear: a quantized (QDQ) model, as
/// lowerToIntegerForChip and `marsc eval` tell one.
bool isQuantized(const ir::Graph &graph);

/// The integer network the chip runs for a QDQ graph, as the compiler's
/// lower-to-integer pass builds it and `marsc eval --integer` evaluates it:
/// rejects a graph without any QuantizeLinear ("the model is not quantized:
/// ..."), drops a final Softmax/LogSoftmax from `graph` (it does not change the
/// predicted class; `*droppedSoftmax` says whether it did), rejects ops the
/// chip cannot run (checkChipOps), then lowerToInteger.
Expected<IntegerNet> lowerToIntegerForChip(ir::Graph &graph,
                                           const LowerOptions &options = {},
                                           bool *droppedSoftmax = nullptr);

} // namespace mars::quant
