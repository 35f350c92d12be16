// The energy model (Energy.h has the formulas).
#include "mars/runtime/Energy.h"

#include <algorithm>

namespace mars::runtime {

EnergyBreakdown &EnergyBreakdown::operator+=(const EnergyBreakdown &o) {
  macroPj += o.macroPj;
  adcPj += o.adcPj;
  shiftAddPj += o.shiftAddPj;
  digitalPj += o.digitalPj;
  sramPj += o.sramPj;
  reloadPj += o.reloadPj;
  dramPj += o.dramPj;
  staticPj += o.staticPj;
  return *this;
}

EnergyBreakdown dynamicEnergy(const arch::EnergySpec &e,
                              const TimingCounters &c) {
  EnergyBreakdown b;
  b.macroPj = double(c.activations) * e.activationPj;
  b.adcPj = double(c.adcConversions) * e.adcPj;
  b.shiftAddPj = double(c.shiftAddBits) * e.shiftAddPjPerBit;
  b.digitalPj = double(c.digitalOps) * e.accumulatePj;
  b.sramPj = double(c.sramBytes) * e.sramBytePj;
  b.reloadPj = double(c.rowWrites) * e.rowWritePj +
               double(c.weightSramBytes) * e.weightSramBytePj;
  b.dramPj = double(c.dramBytes) * e.dramBytePj;
  return b;
}

namespace {

EnergyScope scope(double pj, double effectiveOps, double executedOps) {
  EnergyScope s;
  s.pj = pj;
  // ops / pJ = 1e12 ops / J = TOPS/W.
  if (pj > 0) {
    s.topsPerWattEffective = effectiveOps / pj;
    s.topsPerWattExecuted = executedOps / pj;
  }
  return s;
}

} // namespace

double staticEnergyPj(const arch::ArchSpec &arch, int64_t cycles) {
  const double us = double(cycles) / arch.timing.clockMhz;
  return arch.energy.staticMw * us * 1e3; // mW × µs = nJ = 1000 pJ.
}

EnergyResult estimateEnergy(const program::Program &program,
                            const TimingResult &timing) {
  const arch::ArchSpec &arch = program.arch;
  EnergyResult r;
  const double staticPj = staticEnergyPj(arch, timing.cycles);

  // Static energy is shared by span: the image transfers get their cycles,
  // the layers split the rest in proportion to their (overlapping) spans.
  int64_t layerSpans = 0;
  for (const LayerTiming &lt : timing.layers)
    layerSpans += lt.cycles();
  const int64_t ioCycles = timing.inputCycles + timing.outputCycles;
  const double ioStatic = layerSpans == 0 || timing.cycles == 0
                              ? staticPj
                              : staticPj *
                                    double(std::min(ioCycles, timing.cycles)) /
                                    double(timing.cycles);
  const double layerStatic = staticPj - ioStatic;

  r.io = dynamicEnergy(arch.energy, timing.ioCounters);
  r.io.staticPj = ioStatic;
  r.total = r.io;
  r.layers.reserve(timing.layers.size());
  for (const LayerTiming &lt : timing.layers) {
    EnergyBreakdown b = dynamicEnergy(arch.energy, lt.counters);
    if (layerSpans > 0)
      b.staticPj = layerStatic * double(lt.cycles()) / double(layerSpans);
    r.total += b;
    r.layers.push_back(b);
  }
  r.effectiveOps = 2.0 * double(program.info.denseMacs);
  r.executedOps = 2.0 * double(timing.totals.executedMacs);
  r.macros = scope(r.total.macrosPj(), r.effectiveOps, r.executedOps);
  r.chip = scope(r.total.chipPj(), r.effectiveOps, r.executedOps);
  r.system = scope(r.total.totalPj(), r.effectiveOps, r.executedOps);
  r.topsPerWattEffective = r.system.topsPerWattEffective;
  r.topsPerWattExecuted = r.system.topsPerWattExecuted;
  return r;
}

} // namespace mars::runtime
