// lower-to-integer through the pass harness (test/common/PassHarness.h): the
// QDQ graph before, the integer network after (golden text); the network's
// integer execution equals the QDQ graph under ONNX semantics (DESIGN.md §3:
// every value within one LSB, the same class, as `marsc verify` decides it);
// and where it must not fire. IntegerBatchTest (test/quant) pins that the pass
// is quant::lowerToIntegerForChip, which `marsc eval --integer` runs.
#include "common/PassHarness.h"

#include <catch2/catch.hpp>

using namespace mars;

namespace {

test::PassInput tinyResidual() {
  return test::smallChipInput("tiny_residual", test::tinyResidualNet(),
                              /*prune=*/0.5);
}

} // namespace

TEST_CASE("lower-to-integer: golden text before and after the pass") {
  test::PassRun run = test::runPass("lower-to-integer", tinyResidual());
  REQUIRE(run.changed);
  REQUIRE(run.after.net);
  test::checkGolden("lower-to-integer", "tiny_residual", run);
}

TEST_CASE("lower-to-integer: the integer network computes what the QDQ graph "
          "means") {
  const test::PassInput in = tinyResidual();
  test::PassRun run = test::runPass("lower-to-integer", in);
  // The QDQ graph ≡ lib/quant's integer reference of it ≡ the chip (verify),
  // and the chip ≡ the pass's own network, bit for bit: so the network the
  // pass built computes what the QDQ graph means.
  passes::CompileState compiled = run.after;
  test::finishPipeline("lower-to-integer", compiled, in.context);
  test::checkQdqMatchesInteger(run.before.graph, compiled, /*images=*/4);
  test::checkChipMatchesNet("lower-to-integer", run.after, in.context,
                            /*images=*/4);
}

TEST_CASE(
    "lower-to-integer: must not fire on a lowered network or a float model") {
  const test::PassInput in = tinyResidual();
  SECTION("the integer network exists: a second run changes nothing") {
    test::PassRun run = test::runPass("lower-to-integer", in);
    test::checkUnchanged(
        test::runPassOn("lower-to-integer", run.after, in.context));
  }
  SECTION("a float graph is refused, and no network is made") {
    passes::CompileState state;
    state.graph = in.model;
    auto ran = passes::runPipeline({"lower-to-integer"}, state, in.context);
    REQUIRE_FALSE(ran);
    CHECK_THAT(ran.error().message(), Catch::Contains("not quantized"));
    CHECK_FALSE(state.net);
  }
}
