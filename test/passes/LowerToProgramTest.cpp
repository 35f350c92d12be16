// lower-to-program through the pass harness (test/common/PassHarness.h): the
// integer network before, the program's buffers, layers and unrolled weight
// matrices after (golden text); the finished program on the chip's
// functional model equal bit for bit to the integer reference. lower-to-program
// always builds the program, so its must-not-fire case is the closest
// meaningful one: it fuses nothing fuse did not, and drops no group.
#include "common/PassHarness.h"

#include <catch2/catch.hpp>

using namespace mars;

namespace {

test::PassInput tinyResidual() {
  return test::smallChipInput("tiny_residual", test::tinyResidualNet(),
                              /*prune=*/0.5);
}

} // namespace

TEST_CASE("lower-to-program: golden text before and after the pass") {
  test::PassRun run = test::runPass("lower-to-program", tinyResidual());
  REQUIRE(run.changed);
  test::checkGolden("lower-to-program", "tiny_residual", run);
}

TEST_CASE(
    "lower-to-program: the program runs the integer network bit for bit") {
  const test::PassInput in = tinyResidual();
  test::PassRun run = test::runPass("lower-to-program", in);
  test::checkChipMatchesNet("lower-to-program", run.after, in.context,
                            /*images=*/3);
}

TEST_CASE("lower-to-program: must not fuse or drop what the passes before it "
          "kept") {
  for (const char *model : {"tiny_residual", "tiny_plain"}) {
    DYNAMIC_SECTION(model) {
      const test::PassInput in = test::smallChipInput(
          model,
          std::string(model) == "tiny_plain" ? test::tinyPlainNet()
                                             : test::tinyResidualNet(),
          /*prune=*/0.5);
      test::PassRun run = test::runPass("lower-to-program", in);
      const quant::IntegerNet &net = *run.after.net;
      const program::Program &p = *run.after.program;
      // One program layer per integer layer, in order, fused exactly where
      // fuse said (tiny_plain: nowhere).
      REQUIRE(p.layers.size() == net.layers.size());
      for (size_t i = 0; i < p.layers.size(); ++i) {
        INFO("layer " << i);
        CHECK(p.layers[i].name == net.layers[i].name);
        CHECK(p.layers[i].fusedInto == run.after.fusedInto[i]);
      }
      // Every CIM group is still there, zero or not (group-compress drops).
      for (const program::WeightMatrix &m : p.matrices)
        CHECK(int64_t(m.groups.size()) == int64_t(m.rowGroups) * m.colGroups);
    }
  }
}
