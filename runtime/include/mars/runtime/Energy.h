#pragma once
/// \file
/// The energy model: the timing model's event counts priced with the arch's
/// per-event energies (arch.energy), plus static power over the run time.
///
///   macro     = partition activations × activation_pj
///   ADC       = column conversions × adc_pj
///   shift-add = Σ over column conversions of the partial sum's width
///               (ArchSpec::shiftAddBits) × shift_add_pj_per_bit
///   digital   = Post/Digital element ops × accumulate_pj
///   SRAM      = activation-SRAM bytes × sram_byte_pj
///   reload    = macro row writes × row_write_pj
///               + weight-SRAM bytes × weight_sram_byte_pj
///   DRAM      = off-chip bytes × dram_byte_pj
///   static    = static_mw × latency
///
/// Layers may overlap in time, so static energy is shared among layers in
/// proportion to their spans; layers plus the image transfers (`io`) then
/// sum to the image total. TOPS/W = ops / energy, and since 1 op/pJ is
/// 1 TOPS/W, it is ops ÷ picojoules: *effective* on 2 × the dense model's
/// MACs (`program.info.denseMacs`, as sparse-accelerator papers report),
/// *executed* on 2 × the MACs of the stored groups actually computed.
///
/// Papers report TOPS/W over different boundaries, so each figure is given
/// for three scopes (EnergyScope), each including the one before:
///
///   macros  = macro + ADC + shift-add: the CIM arrays' activations, their
///             column conversions and the shift-and-add of the column
///             counts into each group's partial sum, which is what a macro
///             paper measures at its pins (Si et al., JSSC 2021, to whose
///             figures the default arch is calibrated: MacroPeak.h).
///   chip    = everything but DRAM: macros + digital + SRAM + reload +
///             static, the chip without its off-chip memory.
///   system  = chip + DRAM: the image total.
///
/// All three divide the same op counts (effective and executed); only the
/// energy differs, so TOPS/W falls from macros to system.

#include "mars/program/Program.h"
#include "mars/runtime/Timing.h"

#include <vector>

namespace mars::runtime {

/// Picojoules by where they are spent.
struct EnergyBreakdown {
  double macroPj = 0, adcPj = 0, shiftAddPj = 0, digitalPj = 0, sramPj = 0,
         reloadPj = 0, dramPj = 0, staticPj = 0;
  double totalPj() const { return chipPj() + dramPj; }
  /// The `macros` scope: macro + ADC + shift-add.
  double macrosPj() const { return macroPj + adcPj + shiftAddPj; }
  /// The `chip` scope: everything but DRAM (static included).
  double chipPj() const {
    return macrosPj() + digitalPj + sramPj + reloadPj + staticPj;
  }
  EnergyBreakdown &operator+=(const EnergyBreakdown &o);
};

/// One image's energy within one boundary (see the file comment) and its
/// TOPS/W: ops ÷ pJ, 0 when the energy is 0.
struct EnergyScope {
  double pj = 0;
  double topsPerWattEffective = 0; ///< effectiveOps / pj.
  double topsPerWattExecuted = 0;  ///< executedOps / pj.
  double perImageUj() const { return pj * 1e-6; }
};

/// The energy of one image.
struct EnergyResult {
  EnergyBreakdown total;
  std::vector<EnergyBreakdown> layers; ///< One per program layer.
  EnergyBreakdown io;                  ///< Image input/output transfers.
  double effectiveOps = 0;             ///< 2 × dense MACs.
  double executedOps = 0;              ///< 2 × executed MACs.
  EnergyScope macros; ///< total.macrosPj(): the CIM macros alone.
  EnergyScope chip;   ///< total.chipPj(): the chip without DRAM.
  EnergyScope system; ///< total.totalPj(): the chip with DRAM.
  /// The system scope's figures (kept for the reports that print one).
  double topsPerWattEffective = 0;
  double topsPerWattExecuted = 0;
  double energyPerImageUj() const { return total.totalPj() * 1e-6; }
};

/// The dynamic energy of `counters` (static energy left at zero).
EnergyBreakdown dynamicEnergy(const arch::EnergySpec &energy,
                              const TimingCounters &counters);

/// Static energy of `cycles` at the arch's clock: mW × µs = nJ.
double staticEnergyPj(const arch::ArchSpec &arch, int64_t cycles);

/// Prices one image timed by simulateTiming.
EnergyResult estimateEnergy(const program::Program &program,
                            const TimingResult &timing);

} // namespace mars::runtime
