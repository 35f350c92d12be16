// The energy model: per-event prices of the timing counters, static power,
// the breakdowns summing up, and the TOPS/W figures of the three scopes.
#include "../passes/CompileTestUtil.h"
#include "TimingTestPrograms.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Energy.h"

#include <catch2/catch.hpp>

using namespace mars;
using namespace mars::runtime;
using mars::program::Opcode;
using namespace mars::runtime::testing;

namespace {

/// One Compute of 16 pixels on 4 partitions × 3 groups (TimingTest works
/// its cycles out: 928 in all, 160 of them image transfers).
program::Program oneCompute(const std::vector<int> &groups = {3, 3, 3, 3}) {
  program::Program p = tinyConvProgram(handArch(), groups);
  emit(p, 0, Opcode::Compute, addImage(p, 0, 0, groups), 0, 16);
  return p;
}

EnergyResult priced(const program::Program &p, TimingResult *out = nullptr) {
  Expected<TimingResult> t = simulateTiming(p);
  REQUIRE(t);
  if (out)
    *out = *t;
  return estimateEnergy(p, *t);
}

double sum(const EnergyBreakdown &e) {
  return e.macroPj + e.adcPj + e.shiftAddPj + e.digitalPj + e.sramPj +
         e.reloadPj + e.dramPj + e.staticPj;
}

} // namespace

TEST_CASE("energy prices every counted event", "[energy]") {
  TimingResult t;
  EnergyResult e = priced(oneCompute(), &t);
  const EnergyBreakdown &b = e.total;
  CHECK(b.macroPj == Approx(1536 * 1.2));
  CHECK(b.adcPj == Approx(49152 * 0.35));
  // Each conversion is shifted and added into a 16-bit partial sum (8-bit
  // inputs, 4-bit weights, 16 rows: 8 + 4 + 4).
  CHECK(b.shiftAddPj == Approx(49152 * 16 * 0.01));
  CHECK(b.digitalPj == 0);
  // SRAM: input written (768), read by the Compute (768), output read (512).
  CHECK(b.sramPj == Approx(2048 * 0.6));
  CHECK(b.reloadPj == 0);
  CHECK(b.dramPj == Approx((768 + 512) * 20.0));
  // 5 mW for 928 cycles at 200 MHz = 4.64 us: 23.2 nJ.
  CHECK(b.staticPj == Approx(23200));
  CHECK(staticEnergyPj(handArch(), 928) == Approx(23200));
  CHECK(e.energyPerImageUj() == Approx(b.totalPj() * 1e-6));
}

TEST_CASE("energy breakdowns sum to the total", "[energy]") {
  program::Program p = oneCompute();
  int32_t image = addImage(p, 0, 1, {3, 3, 3, 3});
  emit(p, 0, Opcode::FetchImage, image);
  emit(p, 0, Opcode::LoadImage, image);
  emit(p, 0, Opcode::Compute, image, 0, 16);
  emit(p, 0, Opcode::Post, 0, 0, 32);
  EnergyResult e = priced(p);
  CHECK(sum(e.total) == Approx(e.total.totalPj()));
  CHECK(e.total.reloadPj == Approx(48 * 4.0 + 2 * 768 * 0.6));
  EnergyBreakdown parts = e.io;
  for (const EnergyBreakdown &l : e.layers)
    parts += l;
  CHECK(parts.totalPj() == Approx(e.total.totalPj()));
  CHECK(parts.staticPj == Approx(e.total.staticPj));
  CHECK(e.layers.size() == p.layers.size());
}

TEST_CASE("TOPS/W counts dense and executed operations", "[energy]") {
  program::Program p = oneCompute();
  TimingResult t;
  EnergyResult e = priced(p, &t);
  // Every matrix group is stored: executed = dense = 48 × 32 × 16 MACs.
  CHECK(t.totals.executedMacs == 48 * 32 * 16);
  CHECK(e.executedOps == 2.0 * 48 * 32 * 16);
  CHECK(e.topsPerWattExecuted == Approx(e.executedOps / e.total.totalPj()));
  // A dense model 4× larger (75% of its groups pruned away).
  p.info.denseMacs *= 4;
  EnergyResult sparse = priced(p);
  CHECK(sparse.topsPerWattEffective == Approx(4 * sparse.topsPerWattExecuted));
  CHECK(sparse.topsPerWattEffective ==
        Approx(2.0 * p.info.denseMacs / sparse.total.totalPj()));
}

TEST_CASE("halving the stored groups roughly halves layer energy", "[energy]") {
  EnergyResult dense = priced(oneCompute(std::vector<int>(8, 4)));
  EnergyResult sparse = priced(oneCompute(std::vector<int>(8, 2)));
  CHECK(sparse.layers[0].macroPj * 2 == Approx(dense.layers[0].macroPj));
  CHECK(sparse.layers[0].adcPj * 2 == Approx(dense.layers[0].adcPj));
  const double ratio = sparse.layers[0].totalPj() / dense.layers[0].totalPj();
  CHECK(ratio > 0.45);
  CHECK(ratio < 0.55);
}

TEST_CASE("digital element operations cost accumulate energy, column "
          "counts their shift-add width",
          "[energy]") {
  TimingCounters c;
  c.accumulates = 10;
  c.shiftAddBits = 120;
  c.digitalOps = 30;
  c.rowWrites = 2;
  c.weightSramBytes = 5;
  arch::EnergySpec spec;
  EnergyBreakdown b = dynamicEnergy(spec, c);
  CHECK(b.digitalPj == Approx(30 * spec.accumulatePj));
  CHECK(b.shiftAddPj == Approx(120 * spec.shiftAddPjPerBit));
  CHECK(b.reloadPj == Approx(2 * spec.rowWritePj + 5 * spec.weightSramBytePj));
  CHECK(b.staticPj == 0);
}

TEST_CASE("energy scopes: macros, chip without DRAM, chip with DRAM",
          "[energy]") {
  // A real program: lenet5 compiled by the default pipeline, parsed back
  // from its bytes as `marsc run` reads it, timed from a cold start so that
  // every component (weight reloads included) is non-zero.
  test::CompileSetup setup;
  setup.options.prune = 0.5;
  passes::CompileState state = test::compileZoo(setup);
  auto p = program::parseProgram(state.bytes.data(), state.bytes.size(),
                                 "lenet5.bin");
  REQUIRE(p);
  Expected<TimingResult> t = simulateTiming(*p);
  REQUIRE(t);
  EnergyResult e = estimateEnergy(*p, *t);
  const EnergyBreakdown &b = e.total;
  REQUIRE(b.macroPj > 0);
  REQUIRE(b.adcPj > 0);
  REQUIRE(b.digitalPj > 0);
  REQUIRE(b.sramPj > 0);
  REQUIRE(b.dramPj > 0);
  REQUIRE(b.staticPj > 0);

  // Each scope is the sum of its named components.
  CHECK(e.macros.pj == Approx(b.macroPj + b.adcPj + b.shiftAddPj));
  CHECK(e.chip.pj == Approx(b.macroPj + b.adcPj + b.shiftAddPj + b.digitalPj +
                            b.sramPj + b.reloadPj + b.staticPj));
  CHECK(e.system.pj == Approx(sum(b)));
  CHECK(e.chip.pj == Approx(e.system.pj - b.dramPj));
  // Each includes the one before, strictly here (DRAM and the digital,
  // SRAM and static parts are all non-zero).
  CHECK(e.macros.pj < e.chip.pj);
  CHECK(e.chip.pj < e.system.pj);
  CHECK(e.system.perImageUj() == Approx(e.energyPerImageUj()));
  CHECK(e.macros.perImageUj() == Approx(e.macros.pj * 1e-6));

  // TOPS/W = ops / pJ, the same ops for every scope.
  CHECK(e.effectiveOps == Approx(2.0 * double(p->info.denseMacs)));
  CHECK(e.executedOps == Approx(2.0 * double(t->totals.executedMacs)));
  for (const EnergyScope *s : {&e.macros, &e.chip, &e.system}) {
    CHECK(s->topsPerWattEffective == Approx(e.effectiveOps / s->pj));
    CHECK(s->topsPerWattExecuted == Approx(e.executedOps / s->pj));
  }
  CHECK(e.macros.topsPerWattEffective > e.chip.topsPerWattEffective);
  CHECK(e.chip.topsPerWattEffective > e.system.topsPerWattEffective);
  // Pruned groups are not executed: effective > executed in every scope.
  CHECK(e.macros.topsPerWattEffective > e.macros.topsPerWattExecuted);
  // The older single figures are the system scope.
  CHECK(e.topsPerWattEffective == e.system.topsPerWattEffective);
  CHECK(e.topsPerWattExecuted == e.system.topsPerWattExecuted);

  // Per layer, the scopes split the same way and sum to the image's.
  EnergyBreakdown parts = e.io;
  for (const EnergyBreakdown &l : e.layers) {
    CHECK(l.macrosPj() <= l.chipPj());
    CHECK(l.chipPj() <= l.totalPj());
    parts += l;
  }
  CHECK(parts.macrosPj() == Approx(e.macros.pj));
  CHECK(parts.chipPj() == Approx(e.chip.pj));
}

TEST_CASE("energy scopes of an idle program have no TOPS/W", "[energy]") {
  // No instruction: the macros spend nothing, and their zero energy must
  // not be divided by (the image transfers still cost SRAM and DRAM).
  program::Program p = tinyConvProgram(handArch(), {3, 3, 3, 3});
  EnergyResult e = priced(p);
  REQUIRE(e.effectiveOps > 0);
  CHECK(e.macros.pj == 0);
  CHECK(e.macros.topsPerWattEffective == 0);
  CHECK(e.chip.pj > 0);
  CHECK(e.chip.topsPerWattEffective == Approx(e.effectiveOps / e.chip.pj));
}
