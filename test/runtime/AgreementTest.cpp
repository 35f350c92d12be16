// The integer contract end to end (DESIGN.md §3): zoo models compiled by the
// real pipeline, written to and read back from program bytes, executed by the
// functional model, equal bit for bit to lib/quant's integer reference of the
// same network. And sparsity pays: fewer activations, cycles and energy.
#include "../passes/CompileTestUtil.h"
#include "common/ChipAgreement.h"

#include "mars/runtime/Energy.h"
#include "mars/runtime/Timing.h"

using namespace mars;

namespace {

/// The zoo model compiled with `prune`, parsed back, and its steady-state
/// timing.
struct Timed {
  program::Program program;
  runtime::TimingResult timing;
};
Timed compileAndTime(const std::string &model, double prune) {
  test::CompileSetup setup;
  setup.model = model;
  setup.options.prune = prune;
  program::Program p = test::reloadProgram(test::compileZoo(setup));
  runtime::TimingOptions options;
  options.steadyState = true;
  auto timing = runtime::simulateTiming(p, options);
  REQUIRE(timing);
  return {std::move(p), timing.take()};
}

} // namespace

TEST_CASE("agreement: zoo models, fast path, bit-equal to the integer "
          "reference") {
  for (const char *model : {"lenet5", "resnet20", "vgg-small"}) {
    DYNAMIC_SECTION(model) {
      test::CompileSetup setup;
      setup.model = model;
      setup.modelOptions.widthMultiplier =
          std::string(model) == "lenet5" ? 1.0 : 0.25;
      setup.options.prune = 0.5;
      passes::CompileState state = test::compileZoo(setup);
      test::checkChipMatchesInteger(state, runtime::ExecMode::Fast, 3);
    }
  }
}

TEST_CASE("agreement: macro-level (bit-serial) path on a compiled model") {
  test::CompileSetup setup;
  setup.model = "lenet5";
  setup.modelOptions.widthMultiplier = 0.5;
  setup.options.prune = 0.5;
  passes::CompileState state = test::compileZoo(setup);
  test::checkChipMatchesInteger(state, runtime::ExecMode::MacroLevel, 1);
}

TEST_CASE("agreement: rounds of weight reloads on a small chip") {
  test::CompileSetup setup;
  setup.model = "resnet20";
  setup.modelOptions.widthMultiplier = 0.5;
  setup.arch.chip.cores = 2;
  setup.arch.chip.macrosPerCore = 1;
  passes::CompileState state = test::compileZoo(setup);
  test::checkChipMatchesInteger(state, runtime::ExecMode::Fast, 1);
}

TEST_CASE("sparsity pays: 50% zero groups -> fewer activations, cycles, "
          "energy") {
  struct Result {
    int64_t activations, cycles;
    double energyPj;
  };
  auto measure = [](double prune) {
    Timed t = compileAndTime("vgg-small", prune);
    runtime::EnergyResult energy = runtime::estimateEnergy(t.program, t.timing);
    return Result{t.timing.totals.activations, t.timing.cycles,
                  energy.total.totalPj()};
  };
  Result dense = measure(0.0), sparse = measure(0.5);
  double activations = double(sparse.activations) / double(dense.activations);
  double cycles = double(sparse.cycles) / double(dense.cycles);
  double energy = sparse.energyPj / dense.energyPj;
  INFO("activations " << activations << " cycles " << cycles << " energy "
                      << energy);
  // The first layer is not pruned, so slightly more than half remains.
  CHECK(activations > 0.45);
  CHECK(activations < 0.62);
  CHECK(cycles < 0.75);
  CHECK(energy < 0.75);
  CHECK(energy > 0.3);
}
