#pragma once
// The schedule's clock: when each instruction of the emitted streams starts
// and ends on the arch's resources, and so the cycles per image that
// `marsc compile --report` prints.
//
// The rules are the machine model of DESIGN.md §2, spelled out in
// runtime/include/mars/runtime/Timing.h: in-order issue per core, one macro
// busy at a time, each core's SRAM port and digital pipeline, one DRAM
// channel (bandwidth and latency) shared by the chip in time order, barriers.
// The runtime's timing model applies the same rules with its own code and
// never reads this clock; test/runtime/ScheduleAgreementTest.cpp holds the
// two to 2% on the zoo models and three archs.
#include "mars/program/Program.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <vector>

namespace mars::passes {

struct ScheduleTiming {
  /// Cycles of an image that follows another (the macros start with what the
  /// previous image left in them): the input's arrival to the output's.
  int64_t cycles = 0;
  /// Per program layer: the end of its last instruction (0 when it has none;
  /// fused layers run inside their Conv's Post).
  std::vector<int64_t> layerEnd;
};

/// Times `p.streams` (in steady state, as above). Fails only on streams that
/// cannot finish (a barrier some core never reaches).
Expected<ScheduleTiming> timeSchedule(const program::Program &p);

} // namespace mars::passes
