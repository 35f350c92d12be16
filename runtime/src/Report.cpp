// The human-readable timing and energy table.
#include "mars/runtime/Report.h"

#include <cstdio>
#include <string>

namespace mars::runtime {

namespace {

/// printf into a std::string (one table cell or line).
template <typename... Args> std::string format(const char *fmt, Args... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

double percent(int64_t part, int64_t whole) {
  return whole > 0 ? 100.0 * double(part) / double(whole) : 0.0;
}

/// The energy columns of one table row, in nJ: the macros (macro + ADC +
/// shift-add), the rest of the chip, DRAM, total.
std::string energyColumns(const EnergyBreakdown &e) {
  return format("%11.3f %11.3f %9.3f %11.3f\n", e.macrosPj() * 1e-3,
                (e.chipPj() - e.macrosPj()) * 1e-3, e.dramPj * 1e-3,
                e.totalPj() * 1e-3);
}

} // namespace

std::string formatTimingTable(const program::Program &program,
                              const TimingResult &timing,
                              const EnergyResult &energy) {
  std::string out;
  // Energy columns split as the scopes are: macros (macro + ADC +
  // shift-add), the rest
  // of the chip (digital, SRAM, reload, static), DRAM; then the total.
  out += format("%-20s %12s %7s %14s %6s %11s %11s %9s %11s\n", "layer",
                "cycles", "%time", "activations", "util", "macros",
                "other chip", "DRAM", "energy nJ");
  for (const LayerTiming &lt : timing.layers) {
    const program::Layer &l = program.layers[lt.layer];
    if (!lt.hasInstructions && l.fusedInto >= 0) {
      out += format("%-20s %12s  (fused into %s)\n", lt.name.c_str(), "-",
                    program.layers[l.fusedInto].name.c_str());
      continue;
    }
    out += format("%-20s %12lld %6.1f%% %14lld %5.1f%% ", lt.name.c_str(),
                  static_cast<long long>(lt.cycles()),
                  percent(lt.cycles(), timing.cycles),
                  static_cast<long long>(lt.counters.activations),
                  100.0 * lt.macroUtilisation);
    out += energyColumns(energy.layers[lt.layer]);
  }
  out +=
      format("%-20s %12lld %6.1f%% %14s %6s ", "image in/out",
             static_cast<long long>(timing.inputCycles + timing.outputCycles),
             percent(timing.inputCycles + timing.outputCycles, timing.cycles),
             "-", "-");
  out += energyColumns(energy.io);
  out += format("%-20s %12lld %7s %14lld %5.1f%% ", "total",
                static_cast<long long>(timing.cycles), "",
                static_cast<long long>(timing.totals.activations),
                100.0 * timing.macroUtilisation);
  out += energyColumns(energy.total);
  out += "\n";
  if (timing.stages > 1 && timing.steadyState)
    out += "two-stage pipeline: each stage runs while the other runs the "
           "next or previous image, so each stage's layers fill the cycles "
           "above on their own cores\n";
  out += format("latency          %.3f us at %.1f MHz%s\n", timing.latencyUs,
                timing.clockMhz,
                !timing.steadyState ? ""
                : timing.stages > 1 ? " (steady state: a period in each of "
                                      "the two stages)"
                                    : " (steady state)");
  out += format("FPS              %.1f images/s\n", timing.fps);
  // One row per scope (Energy.h): the same ops over three boundaries.
  out += format("%-32s %10s %18s %17s\n", "energy / image and TOPS/W",
                "uJ/image", "TOPS/W effective", "TOPS/W executed");
  const struct {
    const char *name;
    const EnergyScope &scope;
  } scopes[] = {{"  macros (macro+ADC+shift-add)", energy.macros},
                {"  chip without DRAM", energy.chip},
                {"  chip with DRAM", energy.system}};
  for (const auto &s : scopes)
    out += format("%-32s %10.3f %18.3f %17.3f\n", s.name, s.scope.perImageUj(),
                  s.scope.topsPerWattEffective, s.scope.topsPerWattExecuted);
  out += "  (effective: 2 x the dense model's MACs; executed: 2 x the MACs of "
         "the stored groups)\n";
  const TimeBreakdown &b = timing.breakdown;
  const int64_t all = b.total();
  out += format("time (core-cycles) compute %.1f%%  digital %.1f%%  reload "
                "%.1f%%  memory %.1f%%  stall %.1f%%  idle %.1f%%\n",
                percent(b.compute, all), percent(b.digital, all),
                percent(b.reload, all), percent(b.memory, all),
                percent(b.stall, all), percent(b.idle, all));
  const EnergyBreakdown &e = energy.total;
  const double pj = e.totalPj();
  out += format(
      "energy           macro %.1f%%  ADC %.1f%%  shift-add %.1f%%  "
      "digital %.1f%%  SRAM %.1f%%  reload %.1f%%  DRAM %.1f%%  "
      "static %.1f%%\n",
      pj > 0 ? 100 * e.macroPj / pj : 0.0, pj > 0 ? 100 * e.adcPj / pj : 0.0,
      pj > 0 ? 100 * e.shiftAddPj / pj : 0.0,
      pj > 0 ? 100 * e.digitalPj / pj : 0.0, pj > 0 ? 100 * e.sramPj / pj : 0.0,
      pj > 0 ? 100 * e.reloadPj / pj : 0.0, pj > 0 ? 100 * e.dramPj / pj : 0.0,
      pj > 0 ? 100 * e.staticPj / pj : 0.0);
  return out;
}

} // namespace mars::runtime
