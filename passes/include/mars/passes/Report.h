#pragma once
/// \file
/// The mapping-quality report of `marsc compile --report`: per layer, macros
/// used, cell utilisation, partition activations, the cycle lower bound and
/// the schedule's cycles; for the whole model, scheduled cycles ÷ bound.

#include "mars/passes/CompileState.h"

#include <string>

namespace mars::passes {

/// Scheduled cycles ÷ lower bound for the whole model (1.0 is perfect).
double scheduleRatio(const CompileState &state);
/// Cycles from an image's input to its output: the scheduled cycles, twice
/// them for a two-stage pipeline (an image spends a period in each stage).
int64_t latencyCycles(const CompileState &state);
/// Scheduled cycles ÷ the capacity bound (CapacityBound; the plain ratio
/// when no window of layers sets it).
double capacityRatio(const CompileState &state);

/// The report as a text table.
std::string formatMappingReport(const CompileState &state);

/// `marsc compile --stats`: "statistics:", then one line per counter
/// (pass, value, what).
std::string formatStatistics(const CompileState &state);

/// The report, statistics included, as JSON text.
std::string mappingReportJson(const CompileState &state);

} // namespace mars::passes
