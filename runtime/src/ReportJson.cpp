// The machine-readable report (nlohmann_json stays inside this file).
#include "mars/runtime/Report.h"

#include <nlohmann/json.hpp>

namespace mars::runtime {

namespace {

using nlohmann::ordered_json;

ordered_json countersJson(const TimingCounters &c) {
  return {
      {"activations", c.activations}, {"adc_conversions", c.adcConversions},
      {"accumulates", c.accumulates}, {"shift_add_bits", c.shiftAddBits},
      {"digital_ops", c.digitalOps},  {"row_writes", c.rowWrites},
      {"sram_bytes", c.sramBytes},    {"weight_sram_bytes", c.weightSramBytes},
      {"dram_bytes", c.dramBytes},    {"executed_macs", c.executedMacs}};
}

ordered_json breakdownJson(const TimeBreakdown &b) {
  return {{"compute", b.compute}, {"digital", b.digital}, {"reload", b.reload},
          {"memory", b.memory},   {"stall", b.stall},     {"idle", b.idle}};
}

ordered_json energyJson(const EnergyBreakdown &e) {
  return {{"macro_pj", e.macroPj},        {"adc_pj", e.adcPj},
          {"shift_add_pj", e.shiftAddPj}, {"digital_pj", e.digitalPj},
          {"sram_pj", e.sramPj},          {"reload_pj", e.reloadPj},
          {"dram_pj", e.dramPj},          {"static_pj", e.staticPj},
          {"total_pj", e.totalPj()}};
}

ordered_json scopeJson(const EnergyScope &s) {
  return {{"per_image_uj", s.perImageUj()},
          {"tops_per_watt_effective", s.topsPerWattEffective},
          {"tops_per_watt_executed", s.topsPerWattExecuted}};
}

/// A layer's (or the transfers') energy within each scope, in pJ.
ordered_json scopesPjJson(const EnergyBreakdown &e) {
  return {
      {"macros", e.macrosPj()}, {"chip", e.chipPj()}, {"system", e.totalPj()}};
}

} // namespace

std::string reportJson(const program::Program &program,
                       const TimingResult &timing, const EnergyResult &energy) {
  ordered_json layers = ordered_json::array();
  for (const LayerTiming &lt : timing.layers) {
    const program::Layer &l = program.layers[lt.layer];
    ordered_json j = {
        {"index", lt.layer},
        {"name", lt.name},
        {"kind", program::layerKindName(l.kind)},
        {"fused_into", l.fusedInto >= 0
                           ? ordered_json(program.layers[l.fusedInto].name)
                           : ordered_json(nullptr)},
        {"start_cycle", lt.start},
        {"end_cycle", lt.end},
        {"cycles", lt.cycles()},
        {"macro_compute_cycles", lt.macroComputeCycles},
        {"macro_utilisation", lt.macroUtilisation},
        {"counters", countersJson(lt.counters)},
        {"time_breakdown_core_cycles", breakdownJson(lt.breakdown)},
        {"energy", energyJson(energy.layers[lt.layer])},
        {"energy_scopes_pj", scopesPjJson(energy.layers[lt.layer])}};
    layers.push_back(std::move(j));
  }
  ordered_json doc = {
      {"model", program.info.model},
      {"arch", program.arch.name},
      {"steady_state", timing.steadyState},
      {"clock_mhz", timing.clockMhz},
      {"cycles", timing.cycles},
      {"pipeline_stages", timing.stages},
      {"latency_us", timing.latencyUs},
      {"fps", timing.fps},
      {"input_cycles", timing.inputCycles},
      {"output_cycles", timing.outputCycles},
      {"compiler_scheduled_cycles", program.info.scheduledCycles},
      {"compiler_bound_cycles", program.info.boundCycles},
      {"macro_compute_cycles", timing.macroComputeCycles},
      {"macro_utilisation", timing.macroUtilisation},
      {"core_busy_cycles", timing.coreBusyCycles},
      {"core_stall_cycles", timing.coreStallCycles},
      {"counters", countersJson(timing.totals)},
      {"io_counters", countersJson(timing.ioCounters)},
      {"time_breakdown_core_cycles", breakdownJson(timing.breakdown)},
      {"energy",
       {{"per_image_uj", energy.energyPerImageUj()},
        {"breakdown", energyJson(energy.total)},
        {"io", energyJson(energy.io)},
        {"dense_macs", program.info.denseMacs},
        {"effective_ops", energy.effectiveOps},
        {"executed_ops", energy.executedOps},
        {"tops_per_watt_effective", energy.topsPerWattEffective},
        {"tops_per_watt_executed", energy.topsPerWattExecuted},
        // Energy.h: macros = macro + ADC + shift-add, chip = all but DRAM, system = all.
        {"scopes",
         {{"macros", scopeJson(energy.macros)},
          {"chip", scopeJson(energy.chip)},
          {"system", scopeJson(energy.system)}}}}},
      {"layers", std::move(layers)}};
  return doc.dump(2) + "\n";
}

} // namespace mars::runtime
