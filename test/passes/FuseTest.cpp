// fuse through the pass harness (test/common/PassHarness.h): the integer
// network before and after, each fused layer naming its Conv (golden text);
// the finished program on the chip's functional model equal bit for bit to
// the integer reference; and a network with nothing to fuse.
#include "common/PassHarness.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace mars;

namespace {

test::PassInput tinyResidual() {
  return test::smallChipInput("tiny_residual", test::tinyResidualNet(),
                              /*prune=*/0.5);
}

int fusedCount(const passes::CompileState &state) {
  return int(std::count_if(state.fusedInto.begin(), state.fusedInto.end(),
                           [](int32_t c) { return c >= 0; }));
}

} // namespace

TEST_CASE("fuse: golden text before and after the pass") {
  test::PassRun run = test::runPass("fuse", tinyResidual());
  REQUIRE(run.changed);
  // The MaxPool into conv1; the Add and the global pool into conv2.
  CHECK(fusedCount(run.after) == 3);
  test::checkGolden("fuse", "tiny_residual", run);
}

TEST_CASE("fuse: the program runs the integer network bit for bit") {
  const test::PassInput in = tinyResidual();
  test::PassRun run = test::runPass("fuse", in);
  test::checkChipMatchesNet("fuse", run.after, in.context, /*images=*/3);
}

TEST_CASE("fuse: must not fire when no pool or Add follows a Conv") {
  const test::PassInput in =
      test::smallChipInput("tiny_plain", test::tinyPlainNet(), /*prune=*/0.5);
  test::PassRun run = test::runPass("fuse", in);
  test::checkUnchanged(run);
  CHECK(fusedCount(run.after) == 0);
}
