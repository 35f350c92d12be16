#pragma once
// The lower bound on cycles per image that `marsc compile --report` sets
// the schedule against (README, "Cycles: the schedule and its bound"). It
// depends on the model, its compression and the arch only, never on the
// mapping or schedule chosen, so the ratio says how much a better mapping
// could still gain.
#include "mars/passes/CompileState.h"
#include "mars/program/Program.h"

#include <cstdint>

namespace mars::passes {

/// Macro-cycles (one macro busy for one cycle) that layer `layer`'s stored
/// groups need for one image: every group activates once per output pixel
/// and input slice, and one macro activates at most k = floor(bl_on /
/// partition columns) partitions per cycle (a partition wider than bl_on
/// takes ceil(columns / bl_on) cycles, alone).
double layerMacroCycles(const program::Program &p, int32_t layer);

/// Bytes of Conv layer `layer`'s stored groups in a weight image.
int64_t layerWeightBytes(const program::Program &p, int32_t layer);

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

/// A tighter true bound, beside lowerBoundCycles (which it never goes
/// below): the plain bound counts the bytes that cannot stay on chip as if
/// the channel could fetch them at any time in the image, but a stretch of
/// consecutive Conv layers whose stored weights exceed what the chip holds
/// (the weight SRAMs plus the macros' cells) cannot start with more than
/// that on chip, so the rest crosses the channel while they run. Layers
/// run one after another (each needs its predecessor's whole output: the
/// program's barriers), so for every such window W
///   cycles >= in + out + Σ_{layers not in W} compute
///             + max(compute(W), excess(W) ÷ dram_bytes_per_cycle
///                                − dram_latency_cycles),
/// where the latency is taken off because up to one latency's worth of
/// bytes may already be in the channel when W starts. Returns the largest
/// over all windows, and that window (`plainBound`, lowerBoundCycles(p),
/// when none is held up by the channel). It explains a ratio the plain
/// bound leaves open: what no schedule of one image at a time can gain,
/// however it maps.
CapacityBound capacityBound(const program::Program &p, int64_t plainBound);

} // namespace mars::passes
