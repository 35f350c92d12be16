// group-compress through the pass harness (test/common/PassHarness.h): the
// program before and after its all-zero CIM groups are dropped (golden
// text); the finished program on the chip's functional model equal bit for
// bit to the integer reference; and a model without zero groups.
#include "common/PassHarness.h"

#include <catch2/catch.hpp>

using namespace mars;

namespace {

test::PassInput tinyResidual(double prune) {
  return test::smallChipInput("tiny_residual", test::tinyResidualNet(), prune);
}

} // namespace

TEST_CASE("group-compress: golden text before and after the pass") {
  test::PassRun run = test::runPass("group-compress", tinyResidual(0.5));
  REQUIRE(run.changed);
  test::checkGolden("group-compress", "tiny_residual", run);
}

TEST_CASE("group-compress: the program runs the integer network bit for "
          "bit") {
  const test::PassInput in = tinyResidual(0.5);
  test::PassRun run = test::runPass("group-compress", in);
  test::checkChipMatchesNet("group-compress", run.after, in.context,
                            /*images=*/3);
}

TEST_CASE("group-compress: must not fire without zero groups (no --prune)") {
  test::PassRun run = test::runPass("group-compress", tinyResidual(0.0));
  test::checkUnchanged(run);
}
