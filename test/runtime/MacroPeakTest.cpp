// The macro peak figures `marsc arch` prints: the default arch reproduces the
// published macro it is calibrated to, and the figures are the simulator's
// own (a simulated dense layer costs the same per MAC in the macros scope).
#include "TimingTestPrograms.h"
#include "mars/runtime/Energy.h"
#include "mars/runtime/MacroPeak.h"

#include <catch2/catch.hpp>

using namespace mars;
using namespace mars::runtime;
using mars::program::Opcode;
using namespace mars::runtime::testing;

TEST_CASE("the default arch reproduces Si et al. (JSSC 2021) within 10%",
          "[energy][calibration]") {
  const arch::ArchSpec a = arch::defaultArch();
  for (const PublishedMacroPoint &pub : kSiJssc2021) {
    Expected<MacroPeak> peak = macroPeak(a, pub.inputBits, pub.weightBits);
    REQUIRE(peak);
    INFO(pub.inputBits << "b/" << pub.weightBits << "b: " << peak->topsPerWatt
                       << " TOPS/W, " << peak->latencyNs << " ns");
    CHECK(peak->topsPerWatt == Approx(pub.topsPerWatt).epsilon(0.10));
    CHECK(peak->latencyNs == Approx(pub.accessNs).epsilon(0.10));
  }
}

TEST_CASE("8b/8b costs more than 4x a 4b/4b MAC: the shift-add widens",
          "[energy][calibration]") {
  // Each of the 4x more (input slice, weight bit) pairs is shifted and
  // added into a wider partial sum (20 bits instead of 12).
  const arch::ArchSpec a = arch::defaultArch();
  CHECK(a.shiftAddBits(4, 4) == 12);
  CHECK(a.shiftAddBits(8, 8) == 20);
  Expected<MacroPeak> p4 = macroPeak(a, 4, 4), p8 = macroPeak(a, 8, 8);
  REQUIRE(p4);
  REQUIRE(p8);
  CHECK(p8->pjPerMac > 4 * p4->pjPerMac);
  CHECK(p8->cycles == 2 * p4->cycles);
}

TEST_CASE("the macro peak is what the simulator charges a dense layer",
          "[energy][calibration]") {
  for (int bits : {4, 8}) {
    arch::ArchSpec a = arch::defaultArch();
    a.macro.weightBits = bits;
    // One partition, one dense group, 16 pixels of unsigned `bits` inputs.
    program::Program p = tinyConvProgram(a, {1}, 4, 4, bits);
    emit(p, 0, Opcode::Compute, addImage(p, 0, 0, {1}), 0, 16);
    Expected<TimingResult> t = simulateTiming(p);
    REQUIRE(t);
    EnergyResult e = estimateEnergy(p, *t);
    Expected<MacroPeak> peak = macroPeak(a, bits, bits);
    REQUIRE(peak);
    INFO(bits << "-bit");
    REQUIRE(t->totals.executedMacs == 16 * peak->macs);
    CHECK(e.macros.pj / double(t->totals.executedMacs) ==
          Approx(peak->pjPerMac).epsilon(1e-12));
    // The layer's compute takes the peak's cycles per pixel.
    CHECK(t->breakdown.compute >= 16 * peak->cycles);
  }
}

TEST_CASE("macro peak refuses a weight width the partitions cannot hold",
          "[energy][calibration]") {
  arch::ArchSpec a = arch::defaultArch();
  a.macro.cols = 240; // 30 columns per partition: no 4- or 8-bit weights.
  a.macro.blOn = 48;
  Expected<MacroPeak> p = macroPeak(a, 8, 8);
  REQUIRE_FALSE(p);
  CHECK_THAT(p.error().message(), Catch::Contains("weight_bits"));
  CHECK_FALSE(macroPeak(arch::defaultArch(), 0, 4));
}
