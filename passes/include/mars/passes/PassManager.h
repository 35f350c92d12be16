#pragma once
/// \file
/// The pass registry and the pass manager: runs a pipeline (an ordered list
/// of pass names) with the debug switches built in: verification after every
/// pass (always in Debug builds, or on request), `--print-ir-after`,
/// `--time-passes` and per-pass statistics.

#include "mars/passes/CompileState.h"
#include "mars/support/Error.h"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace mars::passes {

using PassFn = Expected<bool> (*)(CompileState &, const CompileContext &);

/// One registered pass.
struct PassInfo {
  const char *name;
  const char *description;
  PassFn run;
};

/// Every pass, in Passes.def order.
const std::vector<PassInfo> &registeredPasses();
/// The pass called `name`, or nullptr.
const PassInfo *findPass(const std::string &name);
/// The default pipeline of `marsc compile` (see Pipeline.cpp for why each
/// pass sits where it does).
const std::vector<std::string> &defaultPipeline();

/// Debug switches of the pass manager.
struct PassManagerOptions {
  /// Pass names after which the current IR is printed; "all" prints after
  /// every pass.
  std::vector<std::string> printIrAfter;
  bool timePasses = false;
  bool verifyEach = false;     ///< Always on in Debug builds.
  std::ostream *log = nullptr; ///< Where printing and timings go.
};

/// Time spent in one pass.
struct PassTiming {
  std::string pass;
  double seconds = 0;
  bool changed = false;
};

/// Runs `pipeline` in order. Stops at the first failing pass with the error
/// prefixed by the pass name. Unknown pass names are an error before anything
/// runs.
Expected<std::vector<PassTiming>>
runPipeline(const std::vector<std::string> &pipeline, CompileState &state,
            const CompileContext &context,
            const PassManagerOptions &options = {});

/// The current IR as text: the graph, the integer layers (each fused layer
/// naming the Conv it runs in), or the program's disassembly (after emit
/// followed by the file's size and checksum), whichever is most lowered.
std::string printState(const CompileState &state);

/// Every problem with the current IR (graph verifier, program validator).
std::vector<std::string> verifyState(const CompileState &state);

} // namespace mars::passes
