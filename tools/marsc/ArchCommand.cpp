// `marsc arch`: prints the effective accelerator description with the
// quantities derived from it.
#include "Commands.h"

#include "mars/arch/ArchSpec.h"
#include "mars/runtime/MacroPeak.h"
#include "mars/support/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace mars::cli {

namespace {

struct ArchCli {
  std::string path;
  std::vector<std::string> settings;
  std::string output;
  bool json = false;
};

/// The macro's peak at each published precision, beside the published
/// figures (MacroPeak.h). A precision the arch's partitions cannot hold is
/// left out.
struct PeakRow {
  runtime::MacroPeak model;
  runtime::PublishedMacroPoint published;
};

std::vector<PeakRow> peakRows(const arch::ArchSpec &spec) {
  std::vector<PeakRow> rows;
  for (const runtime::PublishedMacroPoint &pub : runtime::kSiJssc2021) {
    auto peak = runtime::macroPeak(spec, pub.inputBits, pub.weightBits);
    if (peak)
      rows.push_back({*peak, pub});
  }
  return rows;
}

double deviationPercent(double model, double published) {
  return 100.0 * (model - published) / published;
}

void printPeaks(const std::vector<PeakRow> &rows) {
  std::printf("\nmacro peak (one dense CIM group, the simulator's counting and "
              "pricing, macros scope)\n");
  std::printf("  vs Si et al., JSSC 2021 (28 nm 256x256 6T SRAM CIM macro)\n");
  std::printf("  %-7s %9s %9s %7s   %10s %10s %7s\n", "in/w", "TOPS/W",
              "published", "dev", "MAC ns", "published", "dev");
  for (const PeakRow &r : rows) {
    char prec[16];
    std::snprintf(prec, sizeof prec, "%db/%db", r.model.inputBits,
                  r.model.weightBits);
    std::printf("  %-7s %9.2f %9.1f %+6.1f%%   %10.2f %10.1f %+6.1f%%\n", prec,
                r.model.topsPerWatt, r.published.topsPerWatt,
                deviationPercent(r.model.topsPerWatt, r.published.topsPerWatt),
                r.model.latencyNs, r.published.accessNs,
                deviationPercent(r.model.latencyNs, r.published.accessNs));
  }
}

nlohmann::ordered_json peaksJson(const std::vector<PeakRow> &rows) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const PeakRow &r : rows)
    out.push_back({{"input_bits", r.model.inputBits},
                   {"weight_bits", r.model.weightBits},
                   {"pj_per_mac", r.model.pjPerMac},
                   {"tops_per_watt", r.model.topsPerWatt},
                   {"mac_latency_ns", r.model.latencyNs},
                   {"published",
                    {{"source", "Si et al., IEEE JSSC 56(9), 2021"},
                     {"tops_per_watt", r.published.topsPerWatt},
                     {"access_ns", r.published.accessNs}}}});
  return out;
}

Status runArch(const ArchCli &cli) {
  auto loaded = arch::loadArchOrDefault(cli.path);
  if (!loaded)
    return loaded.error();
  arch::ArchSpec spec = loaded.take();
  if (!cli.settings.empty()) {
    auto changed = arch::withSettings(spec, cli.settings);
    if (!changed)
      return changed.error();
    spec = *changed;
  }
  if (!cli.output.empty()) {
    MARS_TRY(writeFileAtomic(cli.output, arch::archToJson(spec)));
    std::fprintf(stderr, "wrote %s\n", cli.output.c_str());
    return Status::success();
  }
  const int64_t macsPerCycle = spec.peakBitMacsPerCycle();
  const double peakTops =
      2.0 * double(macsPerCycle) * spec.timing.clockMhz * 1e6 / 1e12;
  if (cli.json) {
    auto j = nlohmann::ordered_json::parse(arch::archToJson(spec));
    j["derived"] = {{"partition_cols", spec.partitionCols()},
                    {"channels_per_partition", spec.channelsPerPartition()},
                    {"cim_group",
                     {{"rows", spec.groupRows()},
                      {"channels", spec.channelsPerPartition()}}},
                    {"total_macros", spec.totalMacros()},
                    {"cim_capacity_bits", spec.cimCapacityBits()},
                    {"peak_bit_macs_per_cycle", macsPerCycle},
                    {"peak_tops_1bit_input", peakTops},
                    {"adc_exact", spec.adcExact()},
                    {"macro_peak", peaksJson(peakRows(spec))}};
    std::printf("%s\n", j.dump(2).c_str());
    return Status::success();
  }
  std::printf("%s", arch::archToJson(spec).c_str());
  std::printf("\nderived:\n");
  std::printf("  columns per partition        %d\n", spec.partitionCols());
  std::printf("  output channels / partition  %d (at %d-bit weights)\n",
              spec.channelsPerPartition(), spec.macro.weightBits);
  std::printf("  CIM group                    %d rows x %d channels\n",
              spec.groupRows(), spec.channelsPerPartition());
  std::printf("  macros                       %d (%d cores x %d)\n",
              spec.totalMacros(), spec.chip.cores, spec.chip.macrosPerCore);
  std::printf("  CIM capacity                 %lld bits (%.1f KiB)\n",
              (long long)spec.cimCapacityBits(),
              double(spec.cimCapacityBits()) / 8192.0);
  std::printf("  peak MACs per cycle          %lld (weights x 1 input bit)\n",
              (long long)macsPerCycle);
  std::printf("  peak                         %.3f TOPS at %g MHz, 1-bit "
              "input slices\n",
              peakTops, spec.timing.clockMhz);
  std::printf("  ADC                          %s\n",
              spec.adcExact() ? "exact (never saturates)"
                              : "saturates: counts clip at 2^adc_bits - 1");
  printPeaks(peakRows(spec));
  return Status::success();
}

} // namespace

Command addArchCommand(CLI::App &parent) {
  auto cli = std::make_shared<ArchCli>();
  CLI::App *app = parent.add_subcommand(
      "arch", "Print the effective accelerator description (arch JSON) with "
              "derived quantities.");
  app->footer("Without --arch, the built-in MARS-like default "
              "(examples/arch/mars.json). Unknown keys and invalid values are "
              "errors that name every bad field.");
  app->add_option("--arch", cli->path, "Arch JSON file (the base for --set)");
  app->add_option("--set", cli->settings,
                  "SECTION.KEY=VALUE, repeatable: change one field, e.g. "
                  "--set macro.wl_on=32 --set macro.adc_bits=4 (validated "
                  "like a file)");
  app->add_option("-o,--output", cli->output,
                  "Write the resulting arch JSON here (atomically) instead "
                  "of printing it");
  app->add_flag("--json", cli->json, "Machine-readable output");
  return {app, [cli] { return runArch(*cli); }};
}

} // namespace mars::cli
