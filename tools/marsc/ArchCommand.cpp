// `marsc arch`: prints the effective accelerator description with the
// quantities derived from it.
#include "Commands.h"

#include "mars/arch/ArchSpec.h"
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

Status runArch(const ArchCli &cli) {
  arch::ArchSpec spec = arch::defaultArch();
  if (!cli.path.empty()) {
    auto loaded = arch::loadArchFile(cli.path);
    if (!loaded)
      return loaded.error();
    spec = *loaded;
  }
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
  const double peakTops = 2.0 * double(macsPerCycle) * spec.timing.clockMhz *
                          1e6 / 1e12;
  if (cli.json) {
    auto j = nlohmann::ordered_json::parse(arch::archToJson(spec));
    j["derived"] = {
        {"partition_cols", spec.partitionCols()},
        {"channels_per_partition", spec.channelsPerPartition()},
        {"cim_group", {{"rows", spec.groupRows()},
                       {"channels", spec.channelsPerPartition()}}},
        {"total_macros", spec.totalMacros()},
        {"cim_capacity_bits", spec.cimCapacityBits()},
        {"peak_bit_macs_per_cycle", macsPerCycle},
        {"peak_tops_1bit_input", peakTops},
        {"adc_exact", spec.adcExact()}};
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
