#pragma once
// Pieces of the timing model shared by its translation units (not public).
#include "mars/runtime/Timing.h"

#include <cstdint>
#include <vector>

namespace mars::runtime::detail {

/// Why a core is busy during an interval, in the order that decides which
/// cause a cycle counts under when several cover it.
enum class Cause : int { Compute = 0, Digital, Reload, Memory, Stall, Count };

/// A span of one core's time with its cause and the layer it serves (-1:
/// the image transfers).
struct Interval {
  int64_t start = 0, end = 0;
  Cause cause = Cause::Compute;
  int32_t layer = -1;
};

/// Checks the operands of `p.streams[core][index]` against the program.
Status checkInstr(const program::Program &p, int core, size_t index);

/// Splits [from, to) of one core among the causes of `intervals` (clipped to
/// the window); each cycle counts once under its first cause, uncovered
/// cycles are idle. Only intervals of `layer` count unless `layer` is
/// kAnyLayer.
inline constexpr int32_t kAnyLayer = -2;
TimeBreakdown splitTime(const std::vector<Interval> &intervals, int64_t from,
                        int64_t to, int32_t layer);

TimeBreakdown &operator+=(TimeBreakdown &a, const TimeBreakdown &b);

} // namespace mars::runtime::detail
