#pragma once
/// \file
/// One macro's peak figures (energy per MAC, TOPS/W, MAC latency) at a given
/// input and weight precision, computed with the simulator's own counting
/// (countActivations, pixelSliceCycles) and pricing (dynamicEnergy's macros
/// scope): one dense CIM group activated for one output pixel, every input
/// slice. This is what a macro paper measures, so it is what the default
/// arch is calibrated against (examples/arch/README.md): `marsc arch` prints
/// it beside the published figures.

#include "mars/arch/ArchSpec.h"
#include "mars/support/Error.h"

#include <cstdint>

namespace mars::runtime {

/// The macro's peak at one precision (unsigned inputs, as after ReLU).
struct MacroPeak {
  int inputBits = 0;
  int weightBits = 0;
  int64_t macs = 0; ///< MACs of one group for one pixel: wl_on × channels.
  double pj = 0;    ///< Their energy in the macros scope.
  double pjPerMac = 0;
  double topsPerWatt = 0; ///< 2 ops per MAC ÷ pJ per MAC.
  int64_t cycles = 0;     ///< input slices × one pixel-slice's cycles.
  double latencyNs = 0;   ///< cycles at the arch's clock: the MAC latency.
};

/// The peak of `arch`'s macro with `weightBits`-bit weights (the arch's
/// macro.weight_bits replaced) and `inputBits`-bit unsigned inputs. An error
/// when that weight width does not fit the arch's partitions.
Expected<MacroPeak> macroPeak(const arch::ArchSpec &arch, int inputBits,
                              int weightBits);

/// A published macro's measured figures at one precision.
struct PublishedMacroPoint {
  int inputBits, weightBits;
  double topsPerWatt;
  double accessNs;
};

/// Si et al., "A Local Computing Cell and 6T SRAM-Based Computing-in-Memory
/// Macro With 8-b MAC Operation for Edge AI Chips", IEEE JSSC 56(9), 2021:
/// 28 nm, 64 Kb (256 × 256 6T), "access times of 4.1–8.4 ns with energy
/// efficiency of 11.5–68.4 TOPS/W, while performing MAC operations with 4-
/// or 8-b input and weight precision" (abstract). The fast, efficient end is
/// 4b/4b, the other 8b/8b.
inline constexpr PublishedMacroPoint kSiJssc2021[] = {{4, 4, 68.4, 4.1},
                                                      {8, 8, 11.5, 8.4}};

} // namespace mars::runtime
