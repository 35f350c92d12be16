#pragma once
/// \file
/// `IntegerNet`: a quantized network as an explicit list of integer layers
/// with every integer parameter spelled out (weights, int32 biases, per-channel
/// multipliers and shifts, clamp ranges). It is the executable form of the
/// integer contract (DESIGN.md §3): `lowerToInteger` builds it from a QDQ
/// ONNX graph, `runInteger` executes it, and the compiler and runtime consume
/// the same layers.

#include "mars/quant/FixedPoint.h"
#include "mars/support/IntRange.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::quant {

/// How an activation tensor is quantized: real = scale × q, zero point 0,
/// q in [lo, hi]. Unsigned after ReLU, signed otherwise.
struct ActQuant {
  double scale = 1.0;
  int bits = 8;
  bool isSigned = false;

  int64_t lo() const { return intLo(bits, isSigned); }
  int64_t hi() const { return intHi(bits, isSigned); }
};

/// A tensor of one image: shape (C, H, W); fully-connected values are
/// (features, 1, 1). Stored as int32 per element at run time.
struct IntValue {
  std::string name;
  int channels = 0, height = 1, width = 1;
  ActQuant quant;
  /// True for the raw int32 accumulators of a final layer (logits), whose
  /// real value is acc × `IntLayer::logitScales[c]`.
  bool isAccumulator = false;
  /// Where the QDQ graph holds this value: a QuantizeLinear output (its
  /// integers, `qdqIsInteger`) or a float tensor equal to scale × q (after
  /// MaxPool, Reshape, Concat); for accumulators the final layer's float
  /// output. Empty when the graph has no such tensor.
  std::string qdqName;
  bool qdqIsInteger = false;

  int64_t size() const { return int64_t(channels) * height * width; }
};

enum class IntOp {
  Conv,    ///< Conv or fully-connected (a 1×1 conv on (features, 1, 1)).
  MaxPool, ///< On quantized values; scale unchanged.
  AvgPool, ///< Window sum, then requantize by s_in / (s_out × count).
  Add,     ///< Σ requantize(in_i, M_i), clamped; one input = rescale.
  Concat,  ///< Along channels; all inputs share the output's scale.
  Reshape, ///< Same elements, new shape (Flatten).
};

const char *intOpName(IntOp op);

/// One integer layer. Fields beyond the common ones are used by the ops that
/// name them.
struct IntLayer {
  IntOp op = IntOp::Conv;
  std::string name; ///< The IR node it came from.
  std::vector<int> inputs;
  int output = -1;

  // Conv and pooling geometry.
  int kernelH = 1, kernelW = 1;
  int strideH = 1, strideW = 1;
  int padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
  int dilationH = 1, dilationW = 1;

  // Conv.
  int groups = 1;
  int weightBits = 8;
  /// [outChannels][inChannels/groups][kernelH][kernelW], values within the
  /// signed `weightBits` range.
  std::vector<int8_t> weights;
  /// Where weight [oc][icg][ky][kx] is in `weights`, for a Conv whose groups
  /// take `inPerGroup` input channels each.
  size_t weightIndex(int oc, int icg, int ky, int kx, int inPerGroup) const {
    return ((size_t(oc) * size_t(inPerGroup) + size_t(icg)) * size_t(kernelH) +
            size_t(ky)) *
               size_t(kernelW) +
           size_t(kx);
  }
  std::vector<int32_t> bias;        ///< Scale: weight scale × input scale.
  std::vector<double> weightScales; ///< Per output channel (for reports).
  /// Per output channel: weight scale × input scale / output scale. Empty
  /// when the output is an accumulator.
  std::vector<Multiplier> multipliers;
  /// Per output channel real scale of the accumulator (final layers only).
  std::vector<double> logitScales;

  // AvgPool.
  bool countIncludePad = false;
  /// Pooling: ONNX ceil_mode. The output extent (from the graph's shapes)
  /// already includes the extra window; the window walk skips positions
  /// beyond the input, so the flag only travels to the program's validator.
  bool ceilMode = false;

  // Add: one multiplier per input (input scale / output scale).
  std::vector<Multiplier> inputMultipliers;

  /// Output clamp (Conv, AvgPool, Add): the output type's range intersected
  /// with a fused ReLU (lo = 0) or Clip (hi = round(max / scale)).
  int64_t clampLo = 0, clampHi = 0;
};

/// The chip's ADC as the integer reference models it (DESIGN.md §2). One
/// activation drives `rowsPerGroup` (wl_on) rows of the unrolled weight
/// matrix (row (ky × kernelW + kx) × Cin + ic, absolute input channel, as
/// lib/arch's CIM groups) with one slice of the inputs: `inputBitsPerCycle`
/// bits of an unsigned input's magnitude, or a signed input's sign bit on its
/// own. Each column (one bit of a two's-complement weight) counts
/// Σ slice × weight bit over those rows; the ADC clips the count to
/// 2^adcBits − 1, and the digital side shifts it into place (the sign bit of
/// either operand negates). When no count can exceed the ADC's range the
/// result is the plain integer sum, and Conv takes that path.
struct AdcModel {
  int rowsPerGroup = 0; ///< 0: no ADC modelled (exact).
  int adcBits = 0;
  int inputBitsPerCycle = 1;

  /// True when a column count can exceed 2^adcBits − 1.
  bool saturates() const {
    return rowsPerGroup > 0 &&
           int64_t(rowsPerGroup) * ((int64_t(1) << inputBitsPerCycle) - 1) >
               (int64_t(1) << adcBits) - 1;
  }
  /// How QDQ metadata (kTrainedAdcKey) and programs name an ADC: "exact"
  /// when no count can saturate (every such ADC computes the same sums),
  /// else "wl_on=16 adc_bits=3 input_bits_per_cycle=2".
  std::string describe() const;
};

/// A one-line note for a model trained for ADC `trainedFor` (the value of
/// kTrainedAdcKey; empty: not recorded, e.g. post-training quantization)
/// that runs on `target`; empty when both compute the same sums.
std::string adcMismatchNote(const std::string &trainedFor,
                            const AdcModel &target);

/// One input bit-slice of the ADC model: bits [first, first + count) of the
/// input's two's-complement form, weighted 2^first; a signed input's sign bit
/// is a slice of its own, weighted −2^(bits−1).
struct InputSlice {
  int first = 0, count = 0;
  bool negative = false;
};
/// The slices a `bits`-bit input is fed in, `perCycle` bits at a time.
std::vector<InputSlice> inputSlices(int bits, bool isSigned, int perCycle);

/// A whole quantized network for one input image.
struct IntegerNet {
  std::string name;
  std::vector<IntValue> values;
  std::vector<IntLayer> layers; ///< In execution order.
  int input = -1;               ///< The quantized network input.
  /// Input normalisation applied in float before quantization, per input
  /// channel: v = (x - inputOffset[c]) * inputMultiplier[c], then clipped to
  /// [inputClipLo, inputClipHi]. Empty vectors mean v = x.
  std::vector<float> inputOffset, inputMultiplier;
  double inputClipLo = -1e300, inputClipHi = 1e300;
  int output = -1; ///< An accumulator (logits) or a quantized value.
  bool powerOfTwoScales = false;
  /// The ADC the Conv layers are computed through; exact by default.
  AdcModel adc;
  /// The ADC the model was trained for (kTrainedAdcKey), "" if unrecorded.
  std::string trainedAdc;

  const IntValue &value(int id) const { return values.at(id); }
  /// Multiply-accumulates of one image in the Conv layers (dense).
  int64_t macs() const;
};

} // namespace mars::quant
