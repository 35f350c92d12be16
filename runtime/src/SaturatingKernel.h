#pragma once
// The macro-level model's fast kernel: the same column counts, ADC clip,
// saturation count and shift-and-add as computeMacroLevel, bit for bit, but
// with the counts of four columns packed into one int32 lane so that one
// SIMD multiply-add counts them all. SaturatingKernel.cpp derives the
// packing; computeMacroLevel stays the reference it is tested against.
#include "ConvKernels.h"

#include <cstdint>
#include <vector>

namespace mars::runtime::detail {

/// How the saturating kernel packs one Conv layer, or that it cannot.
struct SatLayout {
  int32_t fieldBits = 0;     ///< F, the width of one packed count; 0: no fit.
  int32_t slicePairs = 0;    ///< ⌈input slices / 2⌉.
  int32_t bitPairs = 0;      ///< ⌈weight bits / 2⌉.
  int32_t bitPairStride = 0; ///< bitPairs rounded up to even.
  int32_t pairedRows = 0;    ///< rowsPerGroup rounded up to even.
  int32_t blocks = 0;        ///< ⌈channelsPerGroup / 8⌉.
  std::vector<Slice> slices;
  bool fits() const { return fieldBits > 0; }
};

/// The packing for a layer with input `input` and matrix `m` on `arch`;
/// `fits()` is false when a count, an operand or a partition's sum would
/// not fit its field (the caller then runs computeMacroLevel).
SatLayout satLayoutOf(const arch::ArchSpec &arch,
                      const program::WeightMatrix &m,
                      const program::Buffer &input);

/// Fills `cols.slicePairs` from `cols.x16` (needs a narrow im2col).
void buildSlicePairs(const SatLayout &layout, int32_t rowsPerGroup,
                     Im2col &cols);

/// Fills `pm.bitPairs` for matrix `m`.
void prepareBitPairs(const SatLayout &layout, const program::WeightMatrix &m,
                     PreparedMatrix &pm);

/// Instruction sets the kernel has a version for.
enum class SatIsa {
  Scalar, ///< Portable C++.
  Avx2,
  Avx512, ///< AVX-512 F/BW/VBMI/VNNI (Ice Lake, Zen 4 and later).
};
/// Whether this CPU runs `isa`.
bool satIsaSupported(SatIsa isa);
/// The fastest version this CPU runs.
SatIsa bestSatIsa();

/// computeMacroLevel's result for a layer whose layout fits: adds into
/// `args.acc`, adds ADC saturations to `saturations`, returns partition
/// activations.
int64_t computeSaturating(const ComputeArgs &args, const PartitionWork &work,
                          const SatLayout &layout, int64_t &saturations,
                          SatIsa isa = bestSatIsa());

} // namespace mars::runtime::detail
