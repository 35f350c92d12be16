#pragma once
// Shared by map-to-macros and schedule: how the chip's macros are numbered
// and what one Compute costs, so that the mapping optimises the same numbers
// the schedule reports.
#include "mars/arch/ArchSpec.h"
#include "mars/program/Program.h"

#include <algorithm>
#include <cstdint>

namespace mars::passes {

/// Global macro ids interleave cores (id → core id % cores, macro id / cores)
/// so that any run of consecutive ids spreads over all cores.
inline int coreOfMacro(const arch::ArchSpec &a, int id) {
  return id % a.chip.cores;
}
inline int macroInCore(const arch::ArchSpec &a, int id) {
  return id / a.chip.cores;
}
inline int globalMacro(const arch::ArchSpec &a, int core, int macro) {
  return macro * a.chip.cores + core;
}

/// Partition activations one macro can sense in the same cycle (bl_on
/// limit): floor(bl_on / partition columns), at least 1.
inline int concurrentPartitions(const arch::ArchSpec &a) {
  return std::max(1, a.macro.blOn / a.partitionCols());
}

/// Input bit-slices of a layer reading buffer `in` (ArchSpec::inputSlices).
inline int inputSlices(const arch::ArchSpec &a, const program::Buffer &in) {
  return a.inputSlices(in.bits, in.isSigned);
}

/// Cycles of one pixel-slice on a macro whose active partitions store
/// `maxGroups` (largest partition) and `sumGroups` (all) groups: every
/// partition activates once per group, at most `concurrent` per cycle, each
/// partition at most once per cycle. A partition wider than bl_on is sensed
/// in several steps, one partition at a time.
inline int64_t pixelSliceCycles(const arch::ArchSpec &a, int64_t maxGroups,
                                int64_t sumGroups) {
  if (a.macro.blOn < a.partitionCols()) {
    const int64_t steps = (a.partitionCols() + a.macro.blOn - 1) / a.macro.blOn;
    return sumGroups * steps * a.timing.activationCycles;
  }
  const int k = concurrentPartitions(a);
  return std::max(maxGroups, (sumGroups + k - 1) / k) *
         a.timing.activationCycles;
}

/// Rows written when loading `image`: the tallest of its partitions.
inline int64_t imageRows(const arch::ArchSpec &a,
                         const program::WeightImage &image) {
  int64_t rows = 0;
  for (const program::PartitionImage &p : image.partitions)
    rows = std::max<int64_t>(rows,
                             int64_t(program::storedGroups(p)) * a.macro.wlOn);
  return rows;
}

/// Bytes of an image in the weight SRAM: its stored groups × wl_on rows ×
/// partition columns.
inline int64_t imageBytes(const arch::ArchSpec &a,
                          const program::WeightImage &image) {
  int64_t bits = 0;
  for (const program::PartitionImage &p : image.partitions)
    bits +=
        int64_t(program::storedGroups(p)) * a.macro.wlOn * a.partitionCols();
  return (bits + 7) / 8;
}

} // namespace mars::passes
