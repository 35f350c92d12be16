// quantize through the pass harness (test/common/PassHarness.h). Its output
// is not the float function (that is what quantization changes), so the
// equivalence tested is the integer contract's first face: the QDQ graph it
// writes, under ONNX semantics on the reference interpreter, means what its
// integer reference computes (lib/verify, as `marsc verify` decides it).
#include "common/PassHarness.h"

#include <catch2/catch.hpp>

using namespace mars;

namespace {

test::PassInput tinyResidual() {
  return test::smallChipInput("tiny_residual", test::tinyResidualNet(),
                              /*prune=*/0.5);
}

} // namespace

TEST_CASE("quantize: golden text before and after the pass") {
  test::PassRun run = test::runPass("quantize", tinyResidual());
  REQUIRE(run.changed);
  test::checkGolden("quantize", "tiny_residual", run);
}

TEST_CASE("quantize: the QDQ graph on the interpreter equals its integer "
          "reference") {
  const test::PassInput in = tinyResidual();
  test::PassRun run = test::runPass("quantize", in);
  passes::CompileState compiled = run.after;
  test::finishPipeline("quantize", compiled, in.context);
  test::checkQdqMatchesInteger(run.after.graph, compiled, /*images=*/4);
}

TEST_CASE("quantize: must not fire on a model that is already QDQ") {
  const test::PassInput in = tinyResidual();
  test::PassRun once = test::runPass("quantize", in);
  test::checkUnchanged(test::runPassOn("quantize", once.after, in.context));
}
