// emit through the pass harness (test/common/PassHarness.h): the program
// before, and after it the same disassembly with the written file's size
// and checksum (golden text); the bytes, read back as `marsc run` reads
// them, on the chip's functional model equal bit for bit to the integer
// reference. emit always writes, so its must-not-fire case is the closest
// meaningful one: it changes nothing in the program, and emitting again
// gives the same bytes.
#include "common/PassHarness.h"

#include "mars/program/ProgramFile.h"

#include <catch2/catch.hpp>

using namespace mars;

namespace {

test::PassInput tinyResidual() {
  return test::smallChipInput("tiny_residual", test::tinyResidualNet(),
                              /*prune=*/0.5);
}

} // namespace

TEST_CASE("emit: golden text before and after the pass") {
  test::PassRun run = test::runPass("emit", tinyResidual());
  REQUIRE(run.changed);
  test::checkGolden("emit", "tiny_residual", run);
}

TEST_CASE("emit: the file runs the integer network bit for bit") {
  const test::PassInput in = tinyResidual();
  test::PassRun run = test::runPass("emit", in);
  test::checkChipMatchesNet("emit", run.after, in.context, /*images=*/3);
}

TEST_CASE("emit: changes no program, and the same program gives the same "
          "bytes") {
  const test::PassInput in = tinyResidual();
  test::PassRun run = test::runPass("emit", in);
  CHECK(program::disassemble(*run.after.program) ==
        program::disassemble(*run.before.program));
  auto parsed = program::parseProgram(run.after.bytes.data(),
                                      run.after.bytes.size(), "emit.bin");
  REQUIRE(parsed);
  CHECK(program::disassemble(*parsed) ==
        program::disassemble(*run.before.program));
  test::PassRun again = test::runPassOn("emit", run.after, in.context);
  CHECK(again.after.bytes == run.after.bytes);
}
