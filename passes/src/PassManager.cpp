#include "mars/passes/PassManager.h"

#include "mars/ir/Printer.h"
#include "mars/ir/Verifier.h"
#include "mars/passes/Passes.h"
#include "mars/program/ProgramFile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace mars::passes {

void CompileState::count(const std::string &pass, const std::string &name,
                         int64_t value) {
  for (Statistic &s : stats)
    if (s.pass == pass && s.name == name) {
      s.value += value;
      return;
    }
  stats.push_back({pass, name, value});
}

const std::vector<PassInfo> &registeredPasses() {
  static const std::vector<PassInfo> passes = {
#define PASS(Id, name, description) {name, description, &run##Id},
#include "mars/passes/Passes.def"
#undef PASS
  };
  return passes;
}

const PassInfo *findPass(const std::string &name) {
  for (const PassInfo &p : registeredPasses())
    if (name == p.name)
      return &p;
  return nullptr;
}

// IntegerNetPrinter.cpp
std::string printIntegerNet(const quant::IntegerNet &net,
                            const std::vector<int32_t> &fusedInto);

std::string printState(const CompileState &state) {
  if (state.program) {
    std::string text = program::disassemble(*state.program);
    // After emit: what was written, so that a change of the file shows
    // even where the disassembly does not.
    if (!state.bytes.empty()) {
      char line[120];
      std::snprintf(line, sizeof line,
                    "\nemitted: %zu bytes, checksum %016llx\n",
                    state.bytes.size(),
                    static_cast<unsigned long long>(program::programChecksum(
                        state.bytes.data(), state.bytes.size())));
      text += line;
    }
    return text;
  }
  if (state.net)
    return printIntegerNet(*state.net, state.fusedInto);
  return ir::printGraph(state.graph);
}

std::vector<std::string> verifyState(const CompileState &state) {
  // A program is checked once it has instruction streams; before schedule
  // it is legitimately incomplete.
  if (state.program && !state.program->streams.empty())
    return program::validateProgram(*state.program);
  if (state.program || state.net)
    return {}; // lowerToInteger checks the integer net as it builds it
  return ir::verify(state.graph);
}

namespace {

/// A pass that was renamed: its old name in a pass list or in
/// `--print-ir-after` is an error that names the new one (issue 16).
struct RenamedPass {
  const char *from, *to;
};
constexpr RenamedPass kRenamedPasses[] = {
    {"legalize", "lower-to-integer"},
    {"lower-matrix", "lower-to-program"},
};

/// "unknown pass 'x'", and what it is called now if it was renamed.
std::string unknownPass(const std::string &name) {
  for (const RenamedPass &r : kRenamedPasses)
    if (name == r.from)
      return "unknown pass '" + name + "': it was renamed to '" + r.to + "'";
  return "unknown pass '" + name + "'";
}

bool wants(const std::vector<std::string> &list, const std::string &pass) {
  return std::find(list.begin(), list.end(), "all") != list.end() ||
         std::find(list.begin(), list.end(), pass) != list.end();
}

#ifdef NDEBUG
constexpr bool kDebugBuild = false;
#else
constexpr bool kDebugBuild = true;
#endif

} // namespace

Expected<std::vector<PassTiming>>
runPipeline(const std::vector<std::string> &pipeline, CompileState &state,
            const CompileContext &context, const PassManagerOptions &options) {
  std::vector<const PassInfo *> passes;
  for (const std::string &name : pipeline) {
    const PassInfo *p = findPass(name);
    if (!p)
      return makeError(unknownPass(name),
                       " (see `marsc compile --help` for the list)");
    passes.push_back(p);
  }
  for (const std::string &name : options.printIrAfter)
    if (name != "all" && !findPass(name))
      return makeError("--print-ir-after: ", unknownPass(name));

  std::vector<PassTiming> timings;
  for (const PassInfo *p : passes) {
    auto start = std::chrono::steady_clock::now();
    Expected<bool> changed = p->run(state, context);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (!changed)
      return changed.error().withContext(p->name);
    timings.push_back({p->name, seconds, *changed});
    if (options.verifyEach || kDebugBuild) {
      std::vector<std::string> problems = verifyState(state);
      // A pass that leaves invalid IR is a compiler bug, not a user error.
      if (!problems.empty()) {
        std::fprintf(stderr, "IR invalid after pass %s:\n", p->name);
        for (const std::string &m : problems)
          std::fprintf(stderr, "  %s\n", m.c_str());
        MARS_CHECK(problems.empty(), "a pass left invalid IR");
      }
    }
    if (options.log && wants(options.printIrAfter, p->name))
      *options.log << "// ----- IR after " << p->name << " -----\n"
                   << printState(state) << "\n";
  }
  if (options.log && options.timePasses) {
    double total = 0;
    for (const PassTiming &t : timings)
      total += t.seconds;
    char line[160];
    *options.log << "===-- pass execution timing --===\n";
    for (const PassTiming &t : timings) {
      std::snprintf(line, sizeof line, "  %10.3f ms  %5.1f%%  %s%s\n",
                    t.seconds * 1e3, total > 0 ? 100 * t.seconds / total : 0.0,
                    t.pass.c_str(), t.changed ? "" : " (no change)");
      *options.log << line;
    }
    std::snprintf(line, sizeof line, "  %10.3f ms  total\n", total * 1e3);
    *options.log << line;
  }
  return timings;
}

} // namespace mars::passes
