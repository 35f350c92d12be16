#pragma once
// What map-to-macros asks the schedule before it commits to a mapping: the
// cycles per image the schedule would reach with these plans, by its clock
// (ScheduleClock.h), without touching the program being compiled.
#include "mars/passes/CompileState.h"

namespace mars::passes {

/// Schedules a copy of `p` (whose images the plans refer to) as the schedule
/// pass would for `goal`, and returns its streaming choice with its cycles
/// and off-chip bytes per image.
Expected<StreamingChoice> trialSchedule(program::Program p,
                                        const std::vector<LayerPlan> &plans,
                                        ScheduleGoal goal);

} // namespace mars::passes
