#pragma once
/// \file
/// CIM groups: the unit of sparsity (DESIGN.md §2). A group is `wl_on`
/// consecutive rows of a layer's unrolled weight matrix × the output channels
/// of one partition. Trainer, compiler and runtime all use this one mapping.

#include "mars/arch/ArchSpec.h"

#include <cstdint>

namespace mars::arch {

/// The unrolled weight matrix of a Conv (or fully-connected) layer and its
/// tiling into CIM groups. Row r = (ky × kernelW + kx) × inPerGroup + ic:
/// the input channels at one kernel position are consecutive, so one
/// activation drives `wl_on` channels of the same pixel. Column = output
/// channel. Grouped convolutions unroll each group's block the same way
/// (block-diagonal blocks share row indices).
struct GroupGeometry {
  int outChannels = 0;
  int inPerGroup = 0; ///< Input channels per convolution group.
  int kernelH = 1, kernelW = 1;
  int rowsPerGroup = 16;    ///< wl_on.
  int channelsPerGroup = 8; ///< Output channels of one partition.

  int64_t rows() const { return int64_t(kernelH) * kernelW * inPerGroup; }
  int64_t rowGroups() const { return (rows() + rowsPerGroup - 1) / rowsPerGroup; }
  int64_t colGroups() const {
    return (outChannels + channelsPerGroup - 1) / channelsPerGroup;
  }
  int64_t numGroups() const { return rowGroups() * colGroups(); }

  /// Unrolled row of weight (ic, ky, kx).
  int64_t row(int ic, int ky, int kx) const {
    return (int64_t(ky) * kernelW + kx) * inPerGroup + ic;
  }
  /// Group index of weight [oc][ic][ky][kx]: rowGroup × colGroups + colGroup.
  int64_t groupOf(int oc, int ic, int ky, int kx) const {
    return (row(ic, ky, kx) / rowsPerGroup) * colGroups() +
           oc / channelsPerGroup;
  }
};

/// Geometry for a layer whose weights are `weightBits` wide on `spec`: a
/// partition holds cols / partitions / weightBits output channels (at least
/// one).
inline GroupGeometry groupGeometry(const ArchSpec &spec, int weightBits,
                                   int outChannels, int inPerGroup,
                                   int kernelH, int kernelW) {
  GroupGeometry g;
  g.outChannels = outChannels;
  g.inPerGroup = inPerGroup;
  g.kernelH = kernelH;
  g.kernelW = kernelW;
  g.rowsPerGroup = spec.macro.wlOn;
  int perPartition = spec.partitionCols() / weightBits;
  g.channelsPerGroup = perPartition > 0 ? perPartition : 1;
  return g;
}

} // namespace mars::arch
