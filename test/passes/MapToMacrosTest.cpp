// map-to-macros through the pass harness (test/common/PassHarness.h): the
// program before and after its weight images are placed in macros (golden
// text); the finished program on the chip's functional model — the
// macro-level path reads those images — equal bit for bit to the integer
// reference. map-to-macros always maps, so its must-not-fire case is the
// closest meaningful one: with --no-duplicate it copies no weights into
// idle macros.
#include "common/PassHarness.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace mars;

namespace {

test::PassInput tinyResidual() {
  return test::smallChipInput("tiny_residual", test::tinyResidualNet(),
                              /*prune=*/0.5);
}

int maxReplicas(const passes::CompileState &state) {
  int most = 0;
  for (const passes::LayerPlan &plan : state.plans)
    most = std::max(most, int(plan.replicas));
  return most;
}

} // namespace

TEST_CASE("map-to-macros: golden text before and after the pass") {
  test::PassRun run = test::runPass("map-to-macros", tinyResidual());
  REQUIRE(run.changed);
  test::checkGolden("map-to-macros", "tiny_residual", run);
}

TEST_CASE("map-to-macros: the program runs the integer network bit for "
          "bit") {
  const test::PassInput in = tinyResidual();
  test::PassRun run = test::runPass("map-to-macros", in);
  test::checkChipMatchesNet("map-to-macros", run.after, in.context,
                            /*images=*/3);
}

TEST_CASE("map-to-macros: must not duplicate weights with --no-duplicate") {
  test::PassInput in = tinyResidual();
  // With duplication the 4 macros of the small chip hold copies...
  REQUIRE(maxReplicas(test::runPass("map-to-macros", in).after) > 1);
  // ...without, every layer has one copy of its weights.
  in.context.options.duplicate = false;
  test::PassRun run = test::runPass("map-to-macros", in);
  CHECK(maxReplicas(run.after) == 1);
  test::checkChipMatchesNet("map-to-macros", run.after, in.context,
                            /*images=*/1);
}
