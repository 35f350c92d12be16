#pragma once
// Compiling zoo models through the real pipeline, for the back-end tests.
#include "mars/support/Random.h"
#include "mars/passes/PassManager.h"
#include "mars/zoo/Zoo.h"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mars::test {

/// `count` seeded uniform [0, 1) images of the graph input's C×H×W shape.
inline passes::CalibrationData randomCalibration(const ir::Graph &g,
                                                 int64_t count, uint64_t seed) {
  passes::CalibrationData d;
  d.source = "random";
  const ir::Shape &s = g.value(g.inputs[0]).type.shape;
  d.shape = {s[1], s[2], s[3]};
  d.count = count;
  Random rng(seed);
  d.pixels.resize(static_cast<size_t>(count * s[1] * s[2] * s[3]));
  for (float &p : d.pixels)
    p = float(rng.unit());
  return d;
}

/// Multiplies (or, with `set`, replaces) element-wise the float constant
/// `name` of `g` (REQUIREs it and the count).
inline void editConstant(ir::Graph &g, const std::string &name,
                         const std::vector<float> &values, bool set) {
  const std::optional<ir::ValueId> id = g.findValue(name);
  REQUIRE(id);
  REQUIRE(g.value(*id).constant);
  std::vector<float> v = g.value(*id).constant->toFloats();
  REQUIRE(v.size() == values.size());
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = set ? values[i] : v[i] * values[i];
  g.value(*id).constant =
      ir::Tensor::fromFloats(g.value(*id).constant->shape(), v);
}

/// The constant `name` of `g` as floats (REQUIREs it).
inline std::vector<float> constantOf(const ir::Graph &g,
                                     const std::string &name) {
  const std::optional<ir::ValueId> id = g.findValue(name);
  REQUIRE(id);
  REQUIRE(g.value(*id).constant);
  return g.value(*id).constant->toFloats();
}

struct CompileSetup {
  std::string model = "lenet5";
  zoo::ModelOptions modelOptions;
  passes::CompileOptions options;
  arch::ArchSpec arch = arch::defaultArch();
  int64_t calibImages = 2;
};

/// Builds the zoo model and runs the default pipeline; REQUIREs success.
inline passes::CompileState compileZoo(const CompileSetup &setup) {
  Expected<ir::Graph> g = zoo::buildModel(setup.model, setup.modelOptions);
  REQUIRE(g);
  passes::CompileContext context;
  context.arch = setup.arch;
  context.options = setup.options;
  context.calibration = randomCalibration(*g, setup.calibImages, /*seed=*/7);
  passes::CompileState state;
  state.graph = g.take();
  auto timings = passes::runPipeline(passes::defaultPipeline(), state, context);
  if (!timings)
    FAIL(timings.error().message());
  return state;
}

/// The value of the statistic named `name` (any pass), or -1.
inline int64_t stat(const passes::CompileState &s, const std::string &name) {
  for (const passes::Statistic &st : s.stats)
    if (st.name == name)
      return st.value;
  return -1;
}

/// Runs the pipeline and returns the error it must produce.
inline std::string compileError(passes::CompileState state,
                                const passes::CompileContext &context) {
  auto timings = passes::runPipeline(passes::defaultPipeline(), state, context);
  REQUIRE_FALSE(timings);
  return timings.error().message();
}

} // namespace mars::test
