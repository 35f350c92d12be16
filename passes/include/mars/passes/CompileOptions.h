#pragma once
/// \file
/// `marsc compile`'s options as the compiler takes them: the checks CLI11
/// cannot make, the --pipeline list, the pass list of --help and the default
/// output name.

#include "mars/passes/CompileState.h"
#include "mars/support/Error.h"

#include <string>
#include <vector>

namespace mars::passes {

/// --calib-method's value: "minmax" or "percentile"; anything else is an
/// error quoting it.
Expected<CalibMethod> parseCalibMethod(const std::string &name);

/// The range checks of `options` (NaN fails too, which CLI11's Range lets
/// through): --prune in [0, 1), --percentile in [50, 100].
Status checkCompileOptions(const CompileOptions &options);

/// --pipeline's comma-separated pass names (empty items skipped); an empty
/// list is the default pipeline.
std::vector<std::string> parsePipeline(const std::string &list);

/// Every registered pass, one "  name: description" line each, under a
/// heading: the start of `marsc compile --help`'s footer.
std::string passListHelp();

/// The program written for `model` when no -o is given: model.onnx ->
/// model.bin beside it; any other name gets ".bin" appended.
std::string defaultProgramPath(const std::string &model);

} // namespace mars::passes
