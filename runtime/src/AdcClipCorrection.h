#pragma once
// The macro-level model as exact sums plus corrections where the ADC clips.
//
// Why it is exact. A column's count for input slice s over a group's rows
// is Σ_r slice_s(x_r) · bit_b(w_r) ≤ Σ_r slice_s(x_r): it can exceed the
// ADC ceiling only when the slice's own sum over the group's rows does. For
// every other (pixel, group, slice) the ADC converts every count unclipped,
// and the shift-and-add of unclipped counts over all slices and bits is the
// exact product sum Σ_r x_r · w_r (two's complement on both sides: the
// sign slice and the MSB column weigh negative). So the macro's sums are the
// exact GEMM (the fast path's packed kernel) plus, for each pixel, group and
// slice whose input sum exceeds the ceiling, Σ_{j,b} ±(count − ceiling) ·
// 2^(first + b) over the columns that clip, with the sign flipped: what
// the clipping took away. Only those columns are counted as saturations,
// and they are exactly the columns computeMacroLevel saturates.
//
// On a typical network few (pixel, row group) pairs have a slice that can
// clip (about 5% on resnet18 W4A4 at adc_bits 3 with 16 rows), so the
// corrections cost little beside the packed kernel.
//
// Direct layers. When wl_on divides the input channels, each row group is
// wl_on consecutive channels of one kernel tap, so its rows for output
// pixel p are the input's channel block at one input position. The
// flags and bit planes are then found once per (input position, channel
// block), up to kernelH × kernelW times fewer than per (pixel, row group),
// and no im2col copy is made; a group's pixels follow from the positions
// by its tap.
#include "ConvKernels.h"

#include <cstdint>
#include <vector>

namespace mars::runtime::detail {

/// How a layer's ADC clipping is corrected, or that it cannot be here.
struct AdcClipLayout {
  bool fits = false;
  int64_t ceiling = 0; ///< 2^adc_bits − 1.
  std::vector<Slice> slices;
  int32_t bits = 0; ///< The input's.
  /// Per column of a partition (channel × wbits + bit): its channel and
  /// bit, and whether it weighs negative (the MSB).
  std::vector<int32_t> channelOf, bitOf;
  std::vector<uint8_t> msb;
  bool portable = false; ///< No SIMD (for the tests).
  /// The AVX2 corrections (a CPU with AVX2 but no AVX-512 BITALG, or asked
  /// for by the tests): 16-bit column masks counted by nibble tables.
  bool avx2 = false;
  /// Direct (see above, needs AVX-512 BW/BITALG/VPOPCNTDQ): the geometry.
  bool direct = false;
  int32_t rowsPerGroup = 0, inC = 0, inH = 0, inW = 0, outH = 0, outW = 0;
  int32_t kernelH = 0, kernelW = 0, strideH = 0, strideW = 0, dilationH = 0,
          dilationW = 0;
  int32_t padTop = 0, padLeft = 0;
};

/// Which instructions the corrections use.
enum class ClipSimd {
  Best,     ///< AVX-512 where the CPU has it, else AVX2, else Portable.
  Avx2,     ///< AVX2 (never direct) where the CPU has it, else Portable.
  Portable, ///< Plain C++, never direct.
};

/// The layout for Conv `layer` of `p` whose accumulators receive at most
/// `maxTerms` products (over all its Computes). Fits when the input has at
/// most 8 bits (so at most 8 slices) and the macro's sums, bounded by
/// maxTerms × (2^bits − 1) × (2^wbits − 1) over the bit patterns, fit
/// int32 like the exact ones.
AdcClipLayout adcClipLayoutOf(const program::Program &p,
                              const program::Layer &layer, int64_t maxTerms,
                              ClipSimd simd);

/// The weights as the corrections read them: `columnMasks16` when the SIMD
/// corrections run (groups of at most 16 rows, AVX-512 BITALG or the AVX2
/// form, not portable), else `bitMasks`.
PreparedMatrix prepareClipColumns(const AdcClipLayout &layout,
                                  const program::WeightMatrix &m);

/// Fills `cols.clipRows`: direct, per channel block from the layer's input
/// `in` (CHW); otherwise per row group from the rows buildIm2col (without
/// masks) made, which it then frees.
void findClippingSlices(const AdcClipLayout &layout,
                        const std::vector<int32_t> &in, Im2col &cols);

/// Adds the partition's ADC corrections over pixels [args.pixelBegin,
/// args.pixelEnd) into `acc32` ([channel][pixel], `pixels` per channel,
/// wrapping like the packed kernel), adds the clipped column counts to
/// `saturations` and returns the partition activations, as
/// computeMacroLevel does. Needs `args.prepared->bitMasks` (and
/// prepareClipColumns).
int64_t correctAdcClipping(const ComputeArgs &args, const PartitionWork &work,
                           const AdcClipLayout &layout, int32_t *acc32,
                           int64_t pixels, int64_t &saturations);

} // namespace mars::runtime::detail
