// schedule through the pass harness (test/common/PassHarness.h): the
// program before and after its instruction streams and buffer placement
// (golden text); the scheduled program on the chip's functional model equal
// bit for bit to the integer reference. schedule always writes streams, so
// its must-not-fire case is the closest meaningful one: when every layer's
// weights stay in the macros, it fetches nothing from off-chip and loads
// each weight image once.
#include "common/PassHarness.h"

#include <catch2/catch.hpp>

#include <map>

using namespace mars;

namespace {

test::PassInput tinyResidual() {
  return test::smallChipInput("tiny_residual", test::tinyResidualNet(),
                              /*prune=*/0.5);
}

} // namespace

TEST_CASE("schedule: golden text before and after the pass") {
  test::PassRun run = test::runPass("schedule", tinyResidual());
  REQUIRE(run.changed);
  test::checkGolden("schedule", "tiny_residual", run);
}

TEST_CASE("schedule: the program runs the integer network bit for bit") {
  const test::PassInput in = tinyResidual();
  test::PassRun run = test::runPass("schedule", in);
  test::checkChipMatchesNet("schedule", run.after, in.context, /*images=*/3);
}

TEST_CASE("schedule: must not stream or reload resident weights") {
  test::PassRun run = test::runPass("schedule", tinyResidual());
  for (const passes::LayerPlan &plan : run.after.plans)
    REQUIRE(plan.resident);
  CHECK(run.after.offChipWeightBytes == 0);
  std::map<int32_t, int> loads; // weight image → LoadImage instructions
  for (const std::vector<program::Instr> &stream : run.after.program->streams)
    for (const program::Instr &i : stream) {
      CHECK(i.op != program::Opcode::FetchImage);
      if (i.op == program::Opcode::LoadImage)
        ++loads[i.a];
    }
  CHECK(loads.size() == run.after.program->images.size());
  for (const auto &[image, count] : loads) {
    INFO("weight image " << image);
    CHECK(count == 1);
  }
}
