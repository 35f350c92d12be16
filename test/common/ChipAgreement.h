#pragma once
/// \file
/// The integer contract's last face (DESIGN.md §3): a compiled program, read
/// back from its bytes as `marsc run` reads it, executed by the runtime's
/// functional model, equal bit for bit to lib/quant's integer reference of
/// the network it was compiled from. Used by test/runtime's agreement tests
/// and by the pass harness (PassHarness.h) for every pass after
/// lower-to-integer.

#include "mars/passes/CompileState.h"
#include "mars/program/ProgramFile.h"
#include "mars/quant/Execute.h"
#include "mars/runtime/Functional.h"
#include "mars/support/Random.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

namespace mars::test {

/// The program as `marsc run` sees it: parsed from the emitted bytes.
inline program::Program reloadProgram(const passes::CompileState &state) {
  auto p =
      program::parseProgram(state.bytes.data(), state.bytes.size(), "test.bin");
  if (!p)
    FAIL(p.error().message());
  return p.take();
}

/// One seeded image of uniform [0, 1) values, the size of the program input.
inline std::vector<float> randomImage(const program::Program &p,
                                      uint64_t seed) {
  return Random(seed).unitFloats(
      static_cast<size_t>(p.buffers[p.input].size()));
}

/// Runs `images` seeded images (seeds 100, 101, ...) through program `p` in
/// `mode` and through `net`'s integer reference; CHECKs the quantized
/// inputs, the outputs (bit for bit) and the predicted classes are equal.
inline void checkChipMatchesInteger(const program::Program &p,
                                    const quant::IntegerNet &net,
                                    runtime::ExecMode mode, int images) {
  auto exec = runtime::Executor::create(p, {mode});
  if (!exec)
    FAIL(exec.error().message());
  for (int i = 0; i < images; ++i) {
    std::vector<float> x = randomImage(p, 100 + i);
    std::vector<int32_t> qin = runtime::quantizeInput(p, x.data());
    REQUIRE(qin == quant::quantizeInput(net, x.data()));
    auto chip = exec->run(qin);
    if (!chip)
      FAIL(chip.error().message());
    std::vector<int32_t> ref = quant::runInteger(net, qin);
    REQUIRE(chip->size() == ref.size());
    CHECK(*chip == ref);
    CHECK(runtime::argmaxClass(p, *chip) == quant::argmaxClass(net, ref));
  }
}

/// checkChipMatchesInteger on a finished compilation: its emitted bytes
/// against its own integer network.
inline void checkChipMatchesInteger(const passes::CompileState &state,
                                    runtime::ExecMode mode, int images) {
  REQUIRE(state.net);
  checkChipMatchesInteger(reloadProgram(state), *state.net, mode, images);
}

} // namespace mars::test
