#pragma once
/// \file
/// What weight images and macro activations cost on the chip, defined once
/// for the compiler's mapping and schedule (passes/MappingModel.h) and the
/// runtime's timing model (runtime/Timing.h), so that the mapping optimises
/// the numbers the simulator reports. Every arch here has passed
/// arch::validate (bl_on ≥ 1, partitions divide the columns).

#include "mars/arch/ArchSpec.h"
#include "mars/program/Program.h"

#include <algorithm>
#include <cstdint>

namespace mars::program {

/// Partition activations one macro can sense in the same cycle (bl_on
/// limit): floor(bl_on / partition columns), at least 1.
inline int concurrentPartitions(const arch::ArchSpec &a) {
  return std::max(1, a.macro.blOn / a.partitionCols());
}

/// Cycles of one pixel-slice on a macro whose active partitions store
/// `maxGroups` (largest partition) and `sumGroups` (all) groups: every
/// partition activates once per group, at most `concurrentPartitions` per
/// cycle, each partition at most once per cycle. A partition wider than
/// bl_on is sensed in several steps and no other partition fits beside it:
/// activations run one after another.
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

/// Macro rows written when loading `image` (a LoadImage): the tallest of its
/// partitions.
inline int64_t imageRows(const arch::ArchSpec &a, const WeightImage &image) {
  int64_t rows = 0;
  for (const PartitionImage &p : image.partitions)
    rows = std::max<int64_t>(rows, int64_t(storedGroups(p)) * a.macro.wlOn);
  return rows;
}

/// Bytes of an image in the weight SRAM (and over DRAM when fetched): its
/// stored groups × wl_on rows × partition columns.
inline int64_t imageBytes(const arch::ArchSpec &a, const WeightImage &image) {
  int64_t bits = 0;
  for (const PartitionImage &p : image.partitions)
    bits += int64_t(storedGroups(p)) * a.macro.wlOn * a.partitionCols();
  return (bits + 7) / 8;
}

} // namespace mars::program
