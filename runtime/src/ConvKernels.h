#pragma once
// The two Conv kernels of the functional model (Functional.h explains what
// each computes). Both work on one Compute instruction: an image's
// partitions over a pixel range, adding into the layer's int64 accumulators
// laid out [pixel][output channel].
#include "mars/program/Program.h"
#include "mars/quant/IntegerNet.h"

#include <cstdint>
#include <vector>

namespace mars::runtime::detail {

/// One input bit-slice, and the slices one activation after another drives
/// (quant::inputSlices): the ADC model's, shared with the integer reference.
using Slice = quant::InputSlice;

/// A Conv layer's im2col view of its input: one row of `rowsPadded` values
/// per output pixel, row r = (ky × kernelW + kx) × inChannels + ic as in the
/// weight matrix, zero for padding and past the matrix's last row.
struct Im2col {
  int64_t pixels = 0;
  int32_t rowsPadded = 0; ///< rowGroups × wl_on.
  bool narrow = false;    ///< Values fit int16 (then `x16`, else `x32`).
  std::vector<int16_t> x16;
  std::vector<int32_t> x32;
  /// MacroLevel only: bit masks of the inputs, [pixel][rowGroup][bit][word]
  /// with bit t of row r of the group in word r / 64 (two's complement bits
  /// of the input type; the sign bit is bit `bits` − 1).
  std::vector<uint64_t> masks;
  int32_t bits = 0, words = 0;
  /// Saturating kernel only (SaturatingKernel.h): per pixel, row group and
  /// pair of input slices, the group's rows (padded to even) as int16
  /// slice_a + (slice_b << 2F), [pixel][rowGroup][slicePair][pairedRows].
  std::vector<int16_t> slicePairs;
  /// ADC clip corrections only (AdcClipCorrection.h): per row group, the
  /// pixels with an input slice whose sum over the group's rows exceeds
  /// the ADC ceiling. Then `x16`/`x32` and `masks` are left empty.
  struct ClipRows {
    std::vector<int32_t> pixels;  ///< Ascending (direct: input y << 16 | x).
    std::vector<uint8_t> slices;  ///< Per pixel, a bit per such slice.
    std::vector<uint64_t> planes; ///< Per pixel, its masks [bit][word].
    /// Direct only, per kernel tap: the output pixels that read these
    /// input positions through the tap (ascending) and the entry of each,
    /// mapped once per input instead of once per partition and group.
    struct TapEntry {
      int32_t pixel, entry;
    };
    std::vector<std::vector<TapEntry>> byTap;
  };
  std::vector<ClipRows> clipRows;
};

/// Fills `cols` for `layer` from its input buffer `in` (CHW). Masks are
/// built only when `withMasks`.
void buildIm2col(const program::Program &p, const program::Layer &layer,
                 const std::vector<int32_t> &in, bool withMasks, Im2col &cols);

/// Fills `cols.masks` from its rows (buildIm2col with `withMasks`).
void buildInputMasks(int32_t rowsPerGroup, Im2col &cols);

/// A matrix's stored groups in the layouts the kernels read.
struct PreparedMatrix {
  int32_t rowsPerGroup = 0, channelsPerGroup = 0, weightBits = 0;
  /// Fast path, per group: rowsPerGroup/2 row pairs × channelsPerGroup × 2
  /// int16, interleaved (w[2q][j], w[2q+1][j]) so one multiply-add of a
  /// broadcast input pair serves all channels (rows padded to even).
  int32_t pairRows = 0;
  std::vector<int16_t> pairs;
  /// MacroLevel, per group: [channel][weight bit][word] masks over the rows.
  int32_t words = 0;
  std::vector<uint64_t> bitMasks;
  /// ADC clip corrections with at most 16 rows a group, on AVX-512
  /// (AdcClipCorrection.h): the same masks as uint16 (`bitMasks` is then
  /// freed), per group [column = channel × B + bit] padded with zeros to a
  /// multiple of 32 columns.
  std::vector<uint16_t> columnMasks16;
  int32_t columnChunks = 0; ///< Per group: 32-column chunks.
  /// Saturating kernel only (SaturatingKernel.h), per group and block of 8
  /// channels: [rowPair][bitPair][channel][row of the pair] int16
  /// bit_a + (bit_b << F), bit pairs padded to an even count.
  std::vector<int16_t> bitPairs;
};
/// Which of PreparedMatrix's layouts to build.
struct PreparedLayouts {
  bool pairs = true;     ///< The unpacked fast path's.
  bool bitMasks = false; ///< The bit-mask kernel's and the ADC corrections'.
};
PreparedMatrix prepareMatrix(const program::WeightMatrix &m,
                             PreparedLayouts layouts);

/// One partition's work in a Compute: the matrix groups in its slots and
/// its column group.
struct PartitionWork {
  int32_t colGroup = 0;
  std::vector<int32_t> groups;    ///< Indices into the matrix's groups.
  std::vector<int32_t> rowGroups; ///< The same groups' row groups.
};

struct ComputeArgs {
  const program::Program *program = nullptr;
  const program::WeightMatrix *matrix = nullptr;
  const PreparedMatrix *prepared = nullptr;
  const Im2col *cols = nullptr;
  int32_t pixelBegin = 0, pixelEnd = 0;
  int64_t *acc = nullptr; ///< [pixel][matrix.cols]
};

/// Integer GEMM over the stored groups; exact when the ADC cannot saturate.
/// `int32Safe`: every partition's sum fits int32 (then the SIMD kernel runs).
void computeFast(const ComputeArgs &args, const PartitionWork &work,
                 bool int32Safe);

/// The bit-serial macro model; returns partition activations and adds ADC
/// saturations to `saturations`.
int64_t computeMacroLevel(const ComputeArgs &args, const PartitionWork &work,
                          bool inputSigned, int64_t &saturations);

} // namespace mars::runtime::detail
