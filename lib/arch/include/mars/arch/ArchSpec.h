#pragma once
/// \file
/// `ArchSpec`: the description of a MARS-style multi-macro SRAM CIM
/// accelerator (DESIGN.md §2). Every number the compiler, trainer and
/// simulator use about the chip lives here; the defaults describe a MARS-like
/// chip and `--arch my.json` overrides any of them.

#include "mars/support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::arch {

/// The chip: controller, ping-pong activation SRAM, CIM cores.
struct ChipSpec {
  int cores = 4;               ///< CIM cores (paper: 4).
  int macrosPerCore = 4;       ///< CIM macros per core.
  int weightSramKiB = 256;     ///< Per-core weight SRAM that reloads macros.
  int activationSramKiB = 256; ///< Each of the two ping-pong banks.
};

/// One SRAM CIM macro.
struct MacroSpec {
  int rows = 256;            ///< Word lines.
  int cols = 256;            ///< Bit lines (1-bit cells).
  int partitions = 8;        ///< Column partitions (paper: 8).
  int weightBits = 4;        ///< Adjacent columns per weight.
  int wlOn = 16;             ///< Word lines active at once.
  int blOn = 64;             ///< Columns sensed at once (ADC count).
  int adcBits = 5;           ///< ADC resolution per column.
  int inputBitsPerCycle = 1; ///< Input bits applied per activation.
};

/// Cycle costs. The clock is `clockMhz`. Defaults: examples/arch/README.md
/// (the macro's timing calibrated to Si et al., JSSC 2021).
struct TimingSpec {
  double clockMhz = 960;
  int activationCycles = 1;   ///< One partition activation + ADC.
  int rowWriteCycles = 1;     ///< Writing one macro row from weight SRAM.
  int sramBytesPerCycle = 32; ///< Activation SRAM bandwidth per core.
  int dramBytesPerCycle = 32; ///< Off-chip bandwidth (whole chip).
  /// From a DRAM request to its first byte; requests pipeline, so the
  /// channel is busy only for the bytes (bytes / dramBytesPerCycle).
  int dramLatencyCycles = 96;
  int digitalPipelineCycles = 4; ///< Latency of shift-add/requant/ReLU.
};

/// Energy per event in picojoules, and static power. The macro's three
/// (activation, ADC, shift-and-add) are calibrated to Si et al., JSSC 2021;
/// examples/arch/README.md derives them and marks the assumptions.
struct EnergySpec {
  double activationPj =
      0.126;              ///< One partition activation (wl_on rows, one slice).
  double adcPj = 0.00394; ///< One column conversion.
  double shiftAddPjPerBit = 0.00178; ///< Shift-and-add of a column count, per
                                     ///< bit of the partial sum (shiftAddBits).
  double accumulatePj = 0.05;    ///< One digital element op after the macros.
  double sramBytePj = 0.6;       ///< Activation SRAM, per byte.
  double weightSramBytePj = 0.6; ///< Weight SRAM, per byte.
  double dramBytePj = 20.0;      ///< Off-chip, per byte.
  double rowWritePj = 4.0;       ///< Writing one macro row.
  double staticMw = 5.0;         ///< Leakage and clock tree.
};

/// The whole accelerator description.
struct ArchSpec {
  std::string name = "mars";
  ChipSpec chip;
  MacroSpec macro;
  TimingSpec timing;
  EnergySpec energy;

  /// Columns per partition.
  int partitionCols() const { return macro.cols / macro.partitions; }
  /// Output channels one partition holds: cols/partitions/weightBits.
  int channelsPerPartition() const {
    return partitionCols() / macro.weightBits;
  }
  /// Rows of one CIM group (the word-line limit).
  int groupRows() const { return macro.wlOn; }
  /// Input bit-slices a macro takes for a `bits`-wide input: the magnitude
  /// bits `input_bits_per_cycle` at a time, and a signed input's sign bit
  /// on its own (it weighs −2^(bits−1), so it cannot share a slice). The
  /// one count functional model, timing, energy and compiler use.
  int inputSlices(int bits, bool isSigned) const {
    const int perCycle =
        macro.inputBitsPerCycle > 0 ? macro.inputBitsPerCycle : 1;
    const int magnitude = isSigned ? bits - 1 : bits;
    return (magnitude > 0 ? (magnitude + perCycle - 1) / perCycle : 0) +
           (isSigned ? 1 : 0);
  }
  /// Width of the partial sum a column count is shifted and added into: the
  /// product of a `inputBits` input and a `weightBits` weight summed over a
  /// group's wl_on rows (12 bits at 4b/4b and wl_on 16, 20 at 8b/8b: the
  /// output widths Si et al. report). The shift-and-add's energy grows with
  /// it, which is what makes an 8b/8b MAC cost more than 4x a 4b/4b one.
  int shiftAddBits(int inputBits, int weightBits) const {
    int rowBits = 0;
    while ((int64_t(1) << rowBits) < macro.wlOn)
      ++rowBits;
    return inputBits + weightBits + rowBits;
  }
  /// Total macros on the chip.
  int totalMacros() const { return chip.cores * chip.macrosPerCore; }
  /// Capacity of all macros in bits.
  int64_t cimCapacityBits() const {
    return int64_t(totalMacros()) * macro.rows * macro.cols;
  }
  /// Multiply-accumulates of full-precision weights by one input bit-slice
  /// per cycle, chip-wide, at the bit-line limit.
  int64_t peakBitMacsPerCycle() const {
    return int64_t(totalMacros()) * (macro.blOn / macro.weightBits) *
           macro.wlOn * macro.inputBitsPerCycle;
  }
  /// True when a column count can never exceed the ADC range.
  bool adcExact() const {
    return (int64_t(1) << macro.adcBits) - 1 >=
           int64_t(macro.wlOn) * ((int64_t(1) << macro.inputBitsPerCycle) - 1);
  }
};

/// The built-in default (MARS-like); identical to examples/arch/mars.json.
ArchSpec defaultArch();

/// Every problem with the spec, one message each ("macro.wl_on must be in
/// 1..rows (256), got 0"). Empty when valid.
std::vector<std::string> validate(const ArchSpec &spec);

/// Parses JSON text; rejects unknown keys, wrong types and invalid values
/// (all reported). Missing keys keep their defaults. `source` prefixes errors.
Expected<ArchSpec> parseArchJson(const std::string &text,
                                 const std::string &source);
/// Reads and parses a JSON file.
Expected<ArchSpec> loadArchFile(const std::string &path);
/// The arch every `--arch FILE` option means: `defaultArch()` when `path` is
/// empty (no option given), else `loadArchFile(path)`.
Expected<ArchSpec> loadArchOrDefault(const std::string &path);
/// The spec as pretty-printed JSON (every field).
std::string archToJson(const ArchSpec &spec);
/// `base` with settings "section.key=value" (or "name=value") applied, as
/// `marsc arch --set` takes them: the value is read as JSON (a number, true,
/// false) or else as a string, and the result is parsed and validated like a
/// file, so an unknown key or an invalid combination is an error naming the
/// field.
Expected<ArchSpec> withSettings(const ArchSpec &base,
                                const std::vector<std::string> &settings);

} // namespace mars::arch
