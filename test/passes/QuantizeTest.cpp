// quantize through the pass harness (test/common/PassHarness.h). Its output
// is not the float function (that is what quantization changes), so the
// equivalence tested is the integer contract's first face: the QDQ graph it
// writes, under ONNX semantics on the reference interpreter, means what its
// integer reference computes (lib/verify, as `marsc verify` decides it).
#include "common/PassHarness.h"
#include "passes/CompileTestUtil.h"

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

// An untrained network's deep layers (torchvision's googlenet at 64×64)
// can be nearly silent: the final Gemm's input scale was so small that its
// bias, at the accumulator scale s_w × s_in, overflowed int32; the QDQ
// emitter clamped it, and compile stopped in lower-to-integer ("bias
// 0.002394 overflows int32 at scale 0.000000"). The weight scale now
// widens until the bias fits in 2^30 quanta (lib/quant Policy.h): the
// file's bias is the model's, and the QDQ file equals its integer
// reference.
TEST_CASE("quantize: a bias that would overflow at a silent input's scale "
          "widens the weight scale instead") {
  ir::Graph g = test::tinyPlainNet();
  test::silenceClassifier(g);
  for (bool powerOfTwo : {false, true}) {
    INFO("power-of-two scales " << powerOfTwo);
    test::PassInput in = test::smallChipInput("silent", g, /*prune=*/0);
    in.context.options.powerOfTwoScales = powerOfTwo;
    test::PassRun run = test::runPass("quantize", in);
    test::checkClassifierBiasFits(run.after.graph, powerOfTwo);
    passes::CompileState compiled = run.after;
    test::finishPipeline("quantize", compiled, in.context);
    test::checkQdqMatchesInteger(run.after.graph, compiled, /*images=*/4);
  }
}
