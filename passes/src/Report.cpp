#include "mars/passes/Report.h"
#include "mars/support/Format.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace mars::passes {

double scheduleRatio(const CompileState &state) {
  if (!state.program || state.program->info.boundCycles <= 0)
    return 0;
  return double(state.program->info.scheduledCycles) /
         double(state.program->info.boundCycles);
}

int64_t latencyCycles(const CompileState &state) {
  if (!state.program)
    return 0;
  const int64_t period = state.program->info.scheduledCycles;
  return state.pipelineCut >= 0 ? 2 * period : period;
}

double capacityRatio(const CompileState &state) {
  if (!state.program || state.capacityBound.cycles <= 0)
    return 0;
  return double(state.program->info.scheduledCycles) /
         double(state.capacityBound.cycles);
}

std::string formatMappingReport(const CompileState &state) {
  if (!state.program)
    return "no program (compilation stopped before lower-to-program)\n";
  const program::Program &p = *state.program;
  std::string out =
      formatString("%-24s %7s %6s %6s %6s %8s %12s %12s %12s %6s\n", "layer",
                   "kind", "macros", "rounds", "copies", "cells%",
                   "activations", "bound", "scheduled", "ratio");
  const bool pipelined = state.pipelineCut >= 0;
  const int cores = p.arch.chip.cores, first = state.pipelineFirstCores;
  for (const LayerCost &c : state.costs) {
    if (pipelined && (c.layer == state.costs.front().layer ||
                      c.layer == state.pipelineCut)) {
      const bool second = c.layer == state.pipelineCut;
      out += formatString(
          "-- stage %d: cores %d-%d, image %s (bounds on these cores; "
          "scheduled from the period's start)\n",
          second ? 2 : 1, second ? first : 0, second ? cores - 1 : first - 1,
          second ? "n" : "n+1");
    }
    const program::Layer &l = p.layers[c.layer];
    const bool conv = l.kind == program::LayerKind::Conv;
    std::string name = l.name.size() > 24 ? l.name.substr(0, 23) + "~" : l.name;
    if (!conv) {
      out += formatString("%-24s %7s %6s %6s %6s %8s %12s %12s %12lld %6s\n",
                          name.c_str(), program::layerKindName(l.kind), "-",
                          "-", "-", "-", "-", "-",
                          static_cast<long long>(c.scheduledCycles), "-");
      continue;
    }
    out += formatString(
        "%-24s %7s %6d %6d %6d %7.1f%% %12lld %12lld %12lld %6.3f\n",
        name.c_str(), "Conv", c.macrosUsed, c.rounds, c.replicas,
        100 * c.cellUtilisation, static_cast<long long>(c.activations),
        static_cast<long long>(c.boundCycles),
        static_cast<long long>(c.scheduledCycles),
        c.boundCycles > 0 ? double(c.scheduledCycles) / c.boundCycles : 0.0);
  }
  out += formatString(
      "\nwhole model: %lld scheduled cycles per image, lower bound "
      "%lld (README: the bound): ratio %.3f\n",
      static_cast<long long>(p.info.scheduledCycles),
      static_cast<long long>(p.info.boundCycles), scheduleRatio(state));
  if (pipelined)
    out += formatString(
        "two-stage pipeline: cores 0-%d run layers '%s' to '%s' of image "
        "n+1 while cores %d-%d run '%s' to '%s' of image n, so an image "
        "leaves every %lld cycles and takes %lld from input to output "
        "(--image-stages 1: one image at a time, the lowest latency).\n",
        first - 1, p.layers.front().name.c_str(),
        p.layers[state.pipelineCut - 1].name.c_str(), first, cores - 1,
        p.layers[state.pipelineCut].name.c_str(), p.layers.back().name.c_str(),
        static_cast<long long>(p.info.scheduledCycles),
        static_cast<long long>(latencyCycles(state)));
  const CapacityBound &cap = state.capacityBound;
  if (cap.firstLayer >= 0) {
    const int64_t excess = cap.weightBytes - cap.onChipBytes;
    out += formatString(
        "capacity bound: %lld cycles (scheduled / capacity bound %.3f). "
        "Conv layers '%s' to '%s' store %lld weight bytes, more than the "
        "%lld the weight SRAMs and macros hold, so at least %lld bytes "
        "cross the DRAM channel while they run (%lld cycles of compute): "
        "no schedule of one image at a time can beat this, however it "
        "maps%s. More weight SRAM, a faster channel or fewer stored groups "
        "would.\n",
        static_cast<long long>(cap.cycles), capacityRatio(state),
        p.layers[cap.firstLayer].name.c_str(),
        p.layers[cap.lastLayer].name.c_str(),
        static_cast<long long>(cap.weightBytes),
        static_cast<long long>(cap.onChipBytes), static_cast<long long>(excess),
        static_cast<long long>(cap.computeCycles),
        pipelined ? "; the pipeline overlaps images, which is how it gets "
                    "below it"
                  : "");
  }
  if (state.offChipWeightBytes > 0)
    out += formatString(
        "off-chip: %lld weight bytes per image stream from DRAM (the "
        "weights exceed the weight SRAM), fetched ahead of the "
        "rounds that use them, once per core for a layer's replicas; the "
        "cycles above include them. %s\n",
        static_cast<long long>(state.offChipWeightBytes),
        state.scheduledFor == ScheduleGoal::Traffic
            ? "Which weights stay in the weight SRAM was chosen for the "
              "fewest off-chip bytes (--schedule-for traffic)."
            : "Which weights stay in the weight SRAM was chosen for the "
              "fewest cycles (--schedule-for traffic: the fewest bytes).");
  return out;
}

std::string mappingReportJson(const CompileState &state) {
  nlohmann::ordered_json j;
  nlohmann::ordered_json stats = nlohmann::ordered_json::array();
  for (const Statistic &s : state.stats)
    stats.push_back({{"pass", s.pass}, {"name", s.name}, {"value", s.value}});
  j["statistics"] = stats;
  if (!state.program)
    return j.dump(2);
  const program::Program &p = *state.program;
  j["model"] = p.info.model;
  j["dense_macs"] = p.info.denseMacs;
  j["scheduled_cycles"] = p.info.scheduledCycles;
  j["bound_cycles"] = p.info.boundCycles;
  j["ratio"] = scheduleRatio(state);
  j["off_chip_weight_bytes"] = state.offChipWeightBytes;
  // One stage: an image at a time. Two: a pipeline over the cores.
  nlohmann::ordered_json pipeline = {{"stages", state.pipelineCut >= 0 ? 2 : 1},
                                     {"latency_cycles", latencyCycles(state)}};
  if (state.pipelineCut >= 0) {
    pipeline["first_stage_cores"] = state.pipelineFirstCores;
    pipeline["second_stage_first_layer"] = p.layers[state.pipelineCut].name;
  }
  j["pipeline"] = pipeline;
  const CapacityBound &cap = state.capacityBound;
  nlohmann::ordered_json capacity = {{"cycles", cap.cycles},
                                     {"ratio", capacityRatio(state)}};
  if (cap.firstLayer >= 0) {
    capacity["first_layer"] = p.layers[cap.firstLayer].name;
    capacity["last_layer"] = p.layers[cap.lastLayer].name;
    capacity["weight_bytes"] = cap.weightBytes;
    capacity["on_chip_bytes"] = cap.onChipBytes;
    capacity["compute_cycles"] = cap.computeCycles;
  } else {
    capacity["first_layer"] = nullptr; // No window is held up: the bound.
  }
  j["capacity_bound"] = capacity;
  j["schedule_for"] =
      state.scheduledFor == ScheduleGoal::Traffic ? "traffic" : "cycles";
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const LayerCost &c : state.costs) {
    const program::Layer &l = p.layers[c.layer];
    nlohmann::ordered_json e = {{"name", l.name},
                                {"kind", program::layerKindName(l.kind)},
                                {"scheduled_cycles", c.scheduledCycles}};
    if (l.kind == program::LayerKind::Conv) {
      e["macros_used"] = c.macrosUsed;
      e["rounds"] = c.rounds;
      e["replicas"] = c.replicas;
      e["cell_utilisation"] = c.cellUtilisation;
      e["partition_activations"] = c.activations;
      e["load_bits"] = c.loadBits;
      e["bound_cycles"] = c.boundCycles;
      // CIM groups of the block-diagonal matrix (lib/arch geometry) and how
      // many the program stores: the rest are zero and never activated.
      if (l.matrix >= 0 && size_t(l.matrix) < p.matrices.size()) {
        const program::WeightMatrix &m = p.matrices[l.matrix];
        e["cim_groups"] = int64_t(m.rowGroups) * m.colGroups;
        e["stored_cim_groups"] = int64_t(m.groups.size());
        e["zero_cim_groups"] =
            int64_t(m.rowGroups) * m.colGroups - int64_t(m.groups.size());
      }
    }
    layers.push_back(e);
  }
  j["layers"] = layers;
  return j.dump(2);
}

std::string formatStatistics(const CompileState &state) {
  std::string text = "statistics:\n";
  for (const Statistic &s : state.stats) {
    char head[96];
    std::snprintf(head, sizeof head, "  %-16.60s %12lld  ", s.pass.c_str(),
                  static_cast<long long>(s.value));
    text += head + s.name + "\n";
  }
  return text;
}

} // namespace mars::passes
