#pragma once
/// \file
/// The one walk of a program's streams in barrier order (Program.h's Sync):
/// each core runs up to its next Sync, then every barrier whose
/// participants (the cores whose streams have it) all wait at it is passed.
/// The functional executor runs instructions in this order, and the
/// validator's order check follows it with its vector clocks.
#include "mars/program/Program.h"

#include <cstddef>
#include <map>
#include <vector>

namespace mars::program {

/// How walkBarrierPhases ended.
struct PhaseWalk {
  enum End {
    Done,     ///< Every stream ran to its end.
    Stopped,  ///< `visit` returned false.
    Deadlock, ///< Cores wait at barriers that can never be passed (barrier
              ///< ids that do not rise, or a participant that never comes).
  } end = Done;
  size_t waiting = 0, finished = 0; ///< Cores, at a Deadlock.
};

/// Calls visit(core, index) for every instruction but Sync, in barrier
/// phases, and pass(barrier, cores) each time the cores at a barrier pass
/// it (before any of them goes on). With rising barrier ids in every
/// stream (the validator's rule) the walk always ends Done or Stopped.
template <typename Visit, typename Pass>
PhaseWalk walkBarrierPhases(const std::vector<std::vector<Instr>> &streams,
                            const Visit &visit, const Pass &pass) {
  const size_t cores = streams.size();
  std::map<int32_t, size_t> participants; // Barrier -> cores that have it.
  for (const std::vector<Instr> &s : streams)
    for (const Instr &in : s)
      if (in.op == Opcode::Sync)
        ++participants[in.a];
  std::vector<size_t> pc(cores, 0);
  for (;;) {
    std::map<int32_t, std::vector<size_t>> waiting; // Barrier -> its cores.
    for (size_t c = 0; c < cores; ++c) {
      const std::vector<Instr> &s = streams[c];
      for (; pc[c] < s.size() && s[pc[c]].op != Opcode::Sync; ++pc[c])
        if (!visit(c, pc[c]))
          return {PhaseWalk::Stopped};
      if (pc[c] < s.size())
        waiting[s[pc[c]].a].push_back(c);
    }
    if (waiting.empty())
      return {PhaseWalk::Done};
    bool passed = false;
    for (const auto &[barrier, at] : waiting) {
      if (at.size() != participants[barrier])
        continue;
      pass(barrier, at);
      for (size_t c : at)
        ++pc[c];
      passed = true;
    }
    if (!passed) {
      PhaseWalk stuck{PhaseWalk::Deadlock};
      for (const auto &[barrier, at] : waiting)
        stuck.waiting += at.size();
      stuck.finished = cores - stuck.waiting;
      return stuck;
    }
  }
}

} // namespace mars::program
