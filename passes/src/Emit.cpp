/// emit: serialises the finished program into the bytes of program.bin
/// (lib/program's format, DESIGN.md §4). The CLI writes them atomically.
///
/// Requires schedule.
#include "mars/passes/Passes.h"
#include "mars/program/ProgramFile.h"

namespace mars::passes {

Expected<bool> runEmit(CompileState &state, const CompileContext &) {
  if (!state.program || state.program->streams.empty())
    return makeError("emit needs the instruction streams of schedule");
  std::vector<std::string> problems = program::validateProgram(*state.program);
  // The compiler must never produce a program the runtime would reject.
  if (!problems.empty())
    return makeError("internal: the compiled program is invalid: ",
                     problems.front());
  state.bytes = program::serializeProgram(*state.program);
  state.count("emit", "program bytes",
              static_cast<int64_t>(state.bytes.size()));
  return true;
}

} // namespace mars::passes
