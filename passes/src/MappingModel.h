#pragma once
// Shared by map-to-macros and schedule: how the chip's macros are numbered
// and what one Compute costs, so that the mapping optimises the same numbers
// the schedule reports.
#include "mars/arch/ArchSpec.h"
#include "mars/program/ImageCosts.h"
#include "mars/program/Program.h"

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

/// Input bit-slices of a layer reading buffer `in` (ArchSpec::inputSlices).
inline int inputSlices(const arch::ArchSpec &a, const program::Buffer &in) {
  return a.inputSlices(in.bits, in.isSigned);
}

// The costs of images and pixel-slices, shared with the runtime's timing
// model (mars/program/ImageCosts.h).
using program::concurrentPartitions;
using program::imageBytes;
using program::imageRows;
using program::pixelSliceCycles;

} // namespace mars::passes
