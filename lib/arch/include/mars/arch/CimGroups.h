#pragma once
/// \file
/// CIM groups: the unit of sparsity (DESIGN.md §2). A group is `wl_on`
/// consecutive rows of a layer's unrolled weight matrix × the output channels
/// of one partition. Trainer, compiler and runtime all use this one mapping.

#include "mars/arch/ArchSpec.h"

#include <cstdint>
#include <vector>

namespace mars::arch {

/// The unrolled weight matrix of a Conv (or fully-connected) layer and its
/// tiling into CIM groups: the one layout that training, `marsc inspect`,
/// the integer evaluation and the compiler share, so that the groups
/// training prunes and reports are the groups the program leaves out.
///
/// Row r = (ky × kernelW + kx) × inChannels + ic with ic the *absolute* input
/// channel: the input channels at one kernel position are consecutive, so
/// one activation drives `wl_on` channels of the same pixel. Column = output
/// channel. A grouped or depthwise convolution is the block-diagonal matrix
/// of its groups: output channel oc only has weights in the rows of its own
/// convolution group's input channels, so groups wholly off the diagonal
/// hold no weight at all (they are zero, and the chip never stores them).
struct GroupGeometry {
  int outChannels = 0;
  int inChannels = 0; ///< All input channels of the layer.
  int convGroups = 1; ///< Convolution groups (blocks on the diagonal).
  int kernelH = 1, kernelW = 1;
  int rowsPerGroup = 16;    ///< wl_on.
  int channelsPerGroup = 8; ///< Output channels of one partition.

  int inPerGroup() const { return inChannels / convGroups; }
  int outPerGroup() const { return outChannels / convGroups; }
  int64_t rows() const { return int64_t(kernelH) * kernelW * inChannels; }
  int64_t rowGroups() const {
    return (rows() + rowsPerGroup - 1) / rowsPerGroup;
  }
  int64_t colGroups() const {
    return (outChannels + channelsPerGroup - 1) / channelsPerGroup;
  }
  int64_t numGroups() const { return rowGroups() * colGroups(); }

  /// Unrolled row of absolute input channel ic at kernel position (ky, kx).
  int64_t row(int ic, int ky, int kx) const {
    return (int64_t(ky) * kernelW + kx) * inChannels + ic;
  }
  /// Group index (rowGroup × colGroups + colGroup) of the weight at output
  /// channel oc, absolute input channel ic, kernel position (ky, kx).
  int64_t groupOf(int oc, int ic, int ky, int kx) const {
    return (row(ic, ky, kx) / rowsPerGroup) * colGroups() +
           oc / channelsPerGroup;
  }
  /// Group index of element [oc][icg][ky][kx] of the layer's weight tensor,
  /// whose second axis counts input channels within oc's convolution group.
  int64_t groupOfWeight(int oc, int icg, int ky, int kx) const {
    return groupOf(oc, (oc / outPerGroup()) * inPerGroup() + icg, ky, kx);
  }
};

/// Geometry for a layer whose weights are `weightBits` wide on `spec`: a
/// partition holds cols / partitions / weightBits output channels (at least
/// one). `inChannels` counts all input channels; `convGroups` must divide
/// both channel counts (the importer checks it).
inline GroupGeometry groupGeometry(const ArchSpec &spec, int weightBits,
                                   int outChannels, int inChannels,
                                   int convGroups, int kernelH, int kernelW) {
  GroupGeometry g;
  g.outChannels = outChannels;
  g.inChannels = inChannels;
  g.convGroups = convGroups > 0 ? convGroups : 1;
  g.kernelH = kernelH;
  g.kernelW = kernelW;
  g.rowsPerGroup = spec.macro.wlOn;
  int perPartition = spec.partitionCols() / weightBits;
  g.channelsPerGroup = perPartition > 0 ? perPartition : 1;
  return g;
}

/// Which CIM groups of a layer hold weights: for each group, how many weight
/// positions of the layer fall in it (0 for groups off the block diagonal)
/// and whether any of them is non-zero.
struct GroupOccupancy {
  std::vector<int64_t> positions;
  std::vector<bool> nonZero;

  /// Groups with no non-zero weight, off-diagonal ones included: the groups
  /// a compiled program does not store.
  int64_t zeroGroups() const {
    int64_t n = 0;
    for (bool nz : nonZero)
      n += !nz;
    return n;
  }
  /// Groups that hold at least one weight position (the prunable ones).
  int64_t occupiedGroups() const {
    int64_t n = 0;
    for (int64_t p : positions)
      n += p > 0;
    return n;
  }
};

/// Walks every weight [oc][icg][ky][kx] of a layer with geometry `g`;
/// `isNonZero(oc, icg, ky, kx)` says whether that weight is non-zero.
template <typename IsNonZero>
GroupOccupancy groupOccupancy(const GroupGeometry &g, IsNonZero isNonZero) {
  GroupOccupancy o;
  o.positions.assign(size_t(g.numGroups()), 0);
  o.nonZero.assign(size_t(g.numGroups()), false);
  for (int oc = 0; oc < g.outChannels; ++oc)
    for (int icg = 0; icg < g.inPerGroup(); ++icg)
      for (int ky = 0; ky < g.kernelH; ++ky)
        for (int kx = 0; kx < g.kernelW; ++kx) {
          const size_t grp = size_t(g.groupOfWeight(oc, icg, ky, kx));
          ++o.positions[grp];
          if (isNonZero(oc, icg, ky, kx))
            o.nonZero[grp] = true;
        }
  return o;
}

} // namespace mars::arch
