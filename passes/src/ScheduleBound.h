#pragma once
// The lower bound on cycles per image that `marsc compile --report` sets
// the schedule against (README, "Cycles: the schedule and its bound"). It
// depends on the model, its compression and the arch only, never on the
// mapping or schedule chosen, so the ratio says how much a better mapping
// could still gain.
#include "mars/program/Program.h"

#include <cstdint>

namespace mars::passes {

/// Macro-cycles (one macro busy for one cycle) that layer `layer`'s stored
/// groups need for one image: every group activates once per output pixel
/// and input slice, and one macro activates at most k = floor(bl_on /
/// partition columns) partitions per cycle (a partition wider than bl_on
/// takes ceil(columns / bl_on) cycles, alone).
double layerMacroCycles(const program::Program &p, int32_t layer);

/// max(input in + max(compute, macro writes) + output out, DRAM channel):
///  - input in / output out: the image crossing the DRAM channel (bytes ÷
///    dram_bytes_per_cycle + dram_latency_cycles), before the first and
///    after the last instruction;
///  - compute: Σ layerMacroCycles ÷ macros;
///  - macro writes: the stored weight bits that do not fit in the macros'
///    cells, written every image, ÷ (macros × cols ÷ row_write_cycles);
///  - DRAM channel: the bytes that must cross per image (the input, the
///    output, and the stored weight bytes beyond the weight SRAMs and the
///    macros' cells), ÷ dram_bytes_per_cycle, + one latency.
int64_t lowerBoundCycles(const program::Program &p);

} // namespace mars::passes
