#pragma once
/// \file
/// The entry point of every pass, declared from Passes.def:
///   Expected<bool> run<Id>(CompileState &, const CompileContext &)
/// returns true when the pass changed something, or a user error. Each pass
/// is defined in its own src/<Id>.cpp, whose `///` comment states its
/// preconditions.

#include "mars/passes/CompileState.h"
#include "mars/support/Error.h"

namespace mars::passes {

#define PASS(Id, name, description)                                            \
  Expected<bool> run##Id(CompileState &state, const CompileContext &context);
#include "mars/passes/Passes.def"
#undef PASS

} // namespace mars::passes
