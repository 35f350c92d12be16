/// bestTwoStages (TwoStage.h): cuts the layers in two, maps and schedules
/// each part on its half of the cores with map-to-macros and schedule
/// themselves (each part as a program of its own, on an arch of its own
/// cores), and merges the two into one program whose stage boundary
/// (Program.h) lets the halves work on consecutive images.
#include "TwoStage.h"

#include "BufferAllocation.h"
#include "ScheduleBound.h"
#include "ScheduleClock.h"
#include "mars/passes/Passes.h"

#include <algorithm>

namespace mars::passes {

namespace {

using program::Instr;
using program::Opcode;

/// Most cuts tried with a whole mapping and schedule each (bestTwoStages).
constexpr size_t kCutsTried = 6;

/// Whether the second stage may start at layer `cut`: each stage has a
/// Conv, and no fused layer is cut off from the Conv that runs it.
bool validCut(const program::Program &p, int32_t cut) {
  bool convBefore = false, convAfter = false;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const program::Layer &l = p.layers[i];
    if (l.kind == program::LayerKind::Conv)
      (int32_t(i) < cut ? convBefore : convAfter) = true;
    if (int32_t(i) >= cut && l.fusedInto >= 0 && l.fusedInto < cut)
      return false;
  }
  return convBefore && convAfter;
}

/// A lower bound on the period with the second stage from `cut`: the
/// DRAM channel's time for the stored weight bytes beyond their stage's
/// weight SRAMs and macro cells (`channel`), and each stage's compute on
/// its own macros (the slower in `compute`).
struct PeriodBound {
  double channel = 0, compute = 0;
  double cycles() const { return std::max(channel, compute); }
  bool operator<(const PeriodBound &o) const {
    return cycles() != o.cycles() ? cycles() < o.cycles() : compute < o.compute;
  }
};

PeriodBound periodBound(const program::Program &p, int32_t cut,
                        int firstCores) {
  const arch::ArchSpec &a = p.arch;
  const int cores[2] = {firstCores, a.chip.cores - firstCores};
  double compute[2] = {0, 0};
  int64_t bytes[2] = {0, 0};
  for (size_t i = 0; i < p.layers.size(); ++i)
    if (p.layers[i].kind == program::LayerKind::Conv) {
      const int s = int32_t(i) >= cut;
      compute[s] += layerMacroCycles(p, int32_t(i));
      bytes[s] += layerWeightBytes(p, int32_t(i));
    }
  PeriodBound b;
  int64_t streamed = 0;
  for (int s = 0; s < 2; ++s) {
    const int macros = cores[s] * a.chip.macrosPerCore;
    b.compute = std::max(b.compute, compute[s] / macros);
    const int64_t onChip = int64_t(cores[s]) * a.chip.weightSramKiB * 1024 +
                           int64_t(macros) * a.macro.rows * a.macro.cols / 8;
    streamed += std::max<int64_t>(0, bytes[s] - onChip);
  }
  b.channel = double(streamed) / a.timing.dramBytesPerCycle;
  return b;
}

/// Layers [begin, end) of `p` mapped and scheduled onto `cores` cores of
/// their own: a program of those layers alone, renumbered from 0, reading
/// the buffer its first layer reads and writing the one its last writes.
Expected<CompileState> compileStage(const program::Program &p, int32_t begin,
                                    int32_t end, int cores,
                                    const CompileContext &context) {
  program::Program q;
  q.arch = p.arch;
  q.arch.chip.cores = cores;
  q.info = p.info;
  q.buffers = p.buffers;
  q.matrices = p.matrices;
  q.layers.assign(p.layers.begin() + begin, p.layers.begin() + end);
  for (program::Layer &l : q.layers)
    if (l.fusedInto >= 0)
      l.fusedInto -= begin;
  for (program::WeightMatrix &m : q.matrices)
    m.layer -= begin; // Only the stage's own matrices are read.
  q.input = begin == 0 ? p.input : q.layers.front().inputs[0];
  q.output =
      end == int32_t(p.layers.size()) ? p.output : q.layers.back().output;
  CompileState s;
  s.program = std::move(q);
  s.pipelineStage = true;
  Expected<bool> mapped = runMapToMacros(s, context);
  if (!mapped)
    return mapped.error();
  Expected<bool> scheduled = runSchedule(s, context);
  if (!scheduled)
    return scheduled.error();
  return s;
}

/// Appends stage `s` (its layers from `begin`, its cores from `firstCore`,
/// its barriers from `barrierBase`) to `out`: weight images, streams with
/// every operand renumbered, plans and costs.
void appendStage(TwoStageSchedule &out, const CompileState &s, int32_t begin,
                 int firstCore, int32_t barrierBase) {
  const program::Program &q = *s.program;
  program::Program &p = out.program;
  const int32_t imageBase = int32_t(p.images.size());
  for (program::WeightImage im : q.images) {
    im.core += firstCore;
    im.layer += begin;
    p.images.push_back(std::move(im));
  }
  for (size_t c = 0; c < q.streams.size(); ++c)
    for (Instr in : q.streams[c]) {
      switch (in.op) {
      case Opcode::LoadImage:
        in.a += imageBase;
        if (in.b > 0)
          in.b += imageBase;
        break;
      case Opcode::FetchImage:
      case Opcode::Compute: in.a += imageBase; break;
      case Opcode::Post:
      case Opcode::Digital: in.a += begin; break;
      case Opcode::Sync: in.a += barrierBase; break;
      }
      p.streams[firstCore + c].push_back(in);
    }
  for (LayerPlan plan : s.plans) {
    plan.layer += begin;
    for (Round &round : plan.rounds) {
      for (int32_t &image : round.loads)
        image += imageBase;
      for (ComputeTask &task : round.tasks)
        task.image += imageBase;
    }
    out.plans.push_back(std::move(plan));
  }
  for (LayerCost cost : s.costs) {
    cost.layer += begin;
    out.costs.push_back(cost);
  }
}

/// One past the largest barrier id in `streams`.
int32_t barrierCount(const std::vector<std::vector<Instr>> &streams) {
  int32_t n = 0;
  for (const auto &stream : streams)
    for (const Instr &in : stream)
      if (in.op == Opcode::Sync)
        n = std::max(n, in.a + 1);
  return n;
}

/// The whole pipelined program with the second stage from `cut`; nullopt
/// when a stage cannot be mapped onto its cores.
Expected<std::optional<TwoStageSchedule>>
twoStagesAt(const program::Program &p, int32_t cut, int firstCores,
            const CompileContext &context) {
  const int32_t layers = int32_t(p.layers.size());
  Expected<CompileState> first = compileStage(p, 0, cut, firstCores, context);
  Expected<CompileState> second =
      first ? compileStage(p, cut, layers, p.arch.chip.cores - firstCores,
                           context)
            : Expected<CompileState>(first.error());
  if (!first || !second)
    return std::optional<TwoStageSchedule>(); // Does not fit: not this cut.
  TwoStageSchedule out;
  out.program = p;
  out.program.images.clear();
  out.program.streams.assign(p.arch.chip.cores, {});
  out.cut = cut;
  out.firstStageCores = firstCores;
  appendStage(out, *first, 0, 0, 0);
  const int32_t boundary = barrierCount(out.program.streams);
  for (auto &stream : out.program.streams)
    stream.push_back({Opcode::Sync, boundary, /*stage boundary=*/1, 0});
  appendStage(out, *second, cut, firstCores, boundary + 1);
  allocateBuffers(out.program, cut);
  Expected<ScheduleTiming> timing = timeSchedule(out.program);
  if (!timing)
    return timing.error();
  out.score.cycles = timing->cycles;
  out.score.dramBytes = first->offChipWeightBytes + second->offChipWeightBytes;
  return std::optional<TwoStageSchedule>(std::move(out));
}

} // namespace

Expected<std::optional<TwoStageSchedule>>
bestTwoStages(const program::Program &p, int64_t toBeat,
              const CompileContext &context) {
  const int cores = p.arch.chip.cores;
  if (cores < 2)
    return std::optional<TwoStageSchedule>();
  const int firstCores = cores / 2;
  std::vector<std::pair<PeriodBound, int32_t>> cuts;
  for (int32_t cut = 1; cut < int32_t(p.layers.size()); ++cut)
    if (validCut(p, cut))
      cuts.push_back({periodBound(p, cut, firstCores), cut});
  std::sort(cuts.begin(), cuts.end());
  // Cuts in the order of their bound, until no later one could beat the
  // best found (or `toBeat`) in cycles, at most kCutsTried of them. For
  // the fewest bytes the bound on cycles says nothing about later cuts.
  const bool forCycles = context.options.scheduleFor == ScheduleGoal::Cycles;
  std::optional<TwoStageSchedule> best;
  size_t tried = 0;
  for (const auto &[bound, cut] : cuts) {
    const double target =
        best && forCycles ? double(best->score.cycles) : double(toBeat);
    if (tried == kCutsTried || bound.cycles() >= target)
      break;
    ++tried;
    Expected<std::optional<TwoStageSchedule>> staged =
        twoStagesAt(p, cut, firstCores, context);
    if (!staged)
      return staged.error();
    if (*staged && (!best || servesBetter((*staged)->score, best->score,
                                          context.options.scheduleFor)))
      best = std::move(*staged);
  }
  return best;
}

} // namespace mars::passes
