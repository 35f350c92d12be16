#pragma once
/// \file
/// Quantization policy that post-training quantization (passes/) and
/// quantization-aware training (lib/train) must share, so that the QDQ files
/// both write mean what the integer contract computes (DESIGN.md §3).

#include <cstdint>

namespace mars::quant {

/// The scale of an average pool's output, given its input's scale.
///
/// An average pool's output shares its input's range, so it reuses the
/// input's scale instead of a calibrated one, slightly enlarged:
///   s_out = float32(s_in × (1 + 2^-16)).
/// Why: with s_out = s_in a 2×2 window's average sum/4 lies exactly on a
/// rounding tie (x.5) for a quarter of all windows. The integer contract
/// rounds such ties exactly (half to even), but an ONNX runtime evaluates
/// DequantizeLinear → AveragePool → QuantizeLinear in float32, whose
/// rounding errors (about 1e-7 relative) then decide the tie at random. The
/// factor moves every exact tie below x.5 by (x.5) × 2^-16, more than
/// float32's worst-case error on an average of n non-negative values (about
/// (n + 3) × 2^-24 relative, so for windows of up to 64 elements), moving no
/// average across a tie (the averages of an n-element window lie on a grid of
/// 1/n, and (2^bits) × 2^-16 < 1/(2n) for 8 bits and n ≤ 64). The integer
/// multiplier s_in / (n × s_out) holds the factor to 2^-31.
/// With power-of-two scales float32 evaluates these windows exactly (for
/// power-of-two n; other n never produce exact ties), so s_out = s_in.
double avgPoolOutputScale(double inputScale, bool powerOfTwo);

/// The power of two nearest to `scale` in the log domain, 2^round(log2 s)
/// (half to even, as the trainer's torch::round): the scale rule of
/// power-of-two mode, where every requantization multiplier is then an exact
/// shift and the QDQ file evaluates in float32 without rounding error.
double nearestPowerOfTwo(double scale);

/// The factor above: 1 + 2^-16, or 1 with power-of-two scales. A float32
/// product s_in × factor rounds to exactly `avgPoolOutputScale(s_in)`
/// (the exact product has at most 41 significant bits).
double avgPoolScaleFactor(bool powerOfTwo);

/// The largest |bias| stored, in accumulator quanta (s_w × s_in): 2^30,
/// half of int32's range, leaving the accumulator room for the products.
inline constexpr double kMaxBiasQuanta = 1073741824.0;

/// A weight scale, at least `weightScale`, at which `bias` fits the
/// accumulator: |bias| ÷ (s_w × s_in) ≤ kMaxBiasQuanta. A layer whose input
/// is nearly silent (an untrained network's deep layers, a dead channel)
/// has so small an s_in that its bias, which then carries the output,
/// would overflow int32; a coarser weight scale keeps the bias exact and
/// loses only weight precision that the silent input makes irrelevant.
/// With power-of-two scales, the next power of two up. (ONNX Runtime's
/// quantizer widens the weight scale the same way.)
double biasFittingWeightScale(double weightScale, double bias,
                              double inputScale, bool powerOfTwo);

/// Whether CIM-group pruning (PTQ's --prune, training's sparsity) may zero
/// groups of a weighted layer with weights [out][inPerGroup][kh][kw]. Not a
/// per-channel scale (a 1×1 convolution whose output channels each read one
/// input channel, as a BatchNormalization that no Conv precedes becomes;
/// lib/ir Canonicalize.h): each of its groups holds whole channels' only
/// weight, so pruning one silences those channels instead of thinning a
/// sum.
inline bool prunableWeights(int64_t inPerGroup, int64_t kh, int64_t kw) {
  return !(inPerGroup == 1 && kh == 1 && kw == 1);
}

} // namespace mars::quant
