#pragma once
// Compiling zoo models through the real pipeline, for the back-end tests.
#include "mars/support/Random.h"
#include "mars/passes/PassManager.h"
#include "mars/quant/Policy.h"
#include "mars/zoo/Zoo.h"

#include <catch2/catch.hpp>

#include <cmath>
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

/// Silences the classifier's input of a model shaped as tinyPlainNet
/// (conv1-bn1-relu1, conv2-bn2-relu2, flatten, fc of 3 over 144 features),
/// as an untrained network's deep layers can be (googlenet's): bn2 scales
/// its output by 1e-12, so calibration sees a silent input; fc's weights
/// are small too (×1e-4), so even at the calibration's smallest range
/// (1e-6) s_w × s_in is tiny; fc's biases become 1, −0.5, 0.25, which at
/// that scale overflow int32.
inline void silenceClassifier(ir::Graph &g) {
  editConstant(g, "bn2.weight", std::vector<float>(4, 1e-12f), false);
  editConstant(g, "bn2.bias", std::vector<float>(4, 1e-12f), false);
  editConstant(g, "fc.weight", std::vector<float>(3 * 144, 1e-4f), false);
  editConstant(g, "fc.bias", {1.0f, -0.5f, 0.25f}, true);
}

/// CHECKs the QDQ file of a silenceClassifier model: each fc bias fills
/// its channel's room of quant::kMaxBiasQuanta accumulator quanta (to
/// float32's rounding; to a factor 2 with power-of-two scales), so the
/// weight scale was widened just enough, and the file's bias is the
/// model's (not clamped to int32's range).
inline void checkClassifierBiasFits(const ir::Graph &qdq, bool powerOfTwo) {
  const std::vector<float> bias = constantOf(qdq, "fc.bias_int");
  const std::vector<float> scale = constantOf(qdq, "fc.bias_scale");
  REQUIRE(bias.size() == 3);
  REQUIRE(scale.size() == 3);
  const double want[] = {1.0, -0.5, 0.25};
  for (size_t c = 0; c < 3; ++c) {
    CHECK(std::abs(bias[c]) <= quant::kMaxBiasQuanta);
    CHECK(std::abs(bias[c]) >
          quant::kMaxBiasQuanta / (powerOfTwo ? 2.01 : 1.01));
    CHECK(double(bias[c]) * scale[c] == Approx(want[c]).epsilon(1e-6));
  }
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
