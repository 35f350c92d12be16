// quant::lowerToIntegerForChip and quant::runIntegerBatch (`marsc eval
// --integer`) on lenet5 quantized and pruned by the compiler's own passes.
#include "mars/data/Calibration.h"
#include "mars/passes/PassManager.h"
#include "mars/quant/Execute.h"
#include "mars/quant/Lower.h"
#include "mars/support/Random.h"
#include "mars/zoo/Zoo.h"

#include <catch2/catch.hpp>

using namespace mars;

namespace {

/// zoo lenet5 after fold-bn and quantize (`--calib random --calib-limit 4
/// --seed 3 --prune 0.5`, loaded the way `marsc compile` loads them): the
/// QDQ graph `marsc compile --save-qdq` writes.
ir::Graph quantizedLenet5() {
  auto g = zoo::buildModel("lenet5", {});
  REQUIRE(g);
  passes::CompileContext context;
  context.options.prune = 0.5;
  auto images = data::loadCalibrationImages("random", {1, 28, 28},
                                            /*limit=*/4, /*seed=*/3);
  REQUIRE(images);
  context.calibration = passes::CalibrationData{
      images->source, images->shape, images->count, std::move(images->pixels)};
  passes::CompileState state;
  state.graph = g.take();
  REQUIRE(
      passes::runPipeline({"fold-bn", "fold-pad", "quantize"}, state, context));
  return state.graph;
}

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

} // namespace

// The lower-to-integer pass calls lowerToIntegerForChip, so this pins only the
// pass's wiring (it adds, drops and reorders nothing): what `marsc eval
// --integer` runs is what the compiler lowers. Whether the lowering itself is
// right is checked elsewhere (ExecuteTest, test/quant's NumPy reference).
TEST_CASE("the lower-to-integer pass adds nothing to "
          "lowerToIntegerForChip's integer network",
          "[integerbatch]") {
  ir::Graph g = quantizedLenet5();
  ir::Graph copy = g;
  bool dropped = true;
  auto net = quant::lowerToIntegerForChip(copy, {}, &dropped);
  REQUIRE(net);

  passes::CompileState state;
  state.graph = g;
  REQUIRE(passes::runPipeline({"lower-to-integer"}, state,
                              passes::CompileContext{}));
  REQUIRE(state.net);
  REQUIRE(net->layers.size() == state.net->layers.size());
  for (size_t i = 0; i < net->layers.size(); ++i) {
    CHECK(net->layers[i].name == state.net->layers[i].name);
    CHECK(net->layers[i].weights == state.net->layers[i].weights);
  }
  // lenet5's graph ends with its logits Gemm: nothing to drop.
  CHECK_FALSE(dropped);
}

TEST_CASE("lowerToIntegerForChip rejects a float model", "[integerbatch]") {
  auto g = zoo::buildModel("lenet5", {});
  REQUIRE(g);
  auto net = quant::lowerToIntegerForChip(*g);
  REQUIRE_FALSE(net);
  CHECK(contains(net.error().message(), "the model is not quantized"));
}

TEST_CASE("runIntegerBatch: image by image, real-valued logits",
          "[integerbatch]") {
  ir::Graph g = quantizedLenet5();
  auto net = quant::lowerToIntegerForChip(g);
  REQUIRE(net);
  const int64_t batch = 3, size = 784;
  ir::Tensor x(ir::DType::Float32, {batch, 1, 28, 28});
  std::vector<float> pixels = Random(11).unitFloats(size_t(batch * size));
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.setFromDouble(i, pixels[size_t(i)]);

  auto y = quant::runIntegerBatch(*net, x);
  REQUIRE(y);
  REQUIRE(y->shape() == ir::Shape{batch, 10});
  CHECK(y->dtype() == ir::DType::Float32);
  bool differ = false;
  for (int64_t n = 0; n < batch; ++n) {
    auto q = quant::runInteger(
        *net, quant::quantizeInput(*net, pixels.data() + n * size));
    for (int64_t k = 0; k < 10; ++k) {
      CHECK(y->getAsDouble(n * 10 + k) == float(quant::outputReal(*net, q, k)));
      differ |= y->getAsDouble(n * 10 + k) != y->getAsDouble(k);
    }
  }
  CHECK(differ); // the images are not all computed from the first

  ir::Tensor half(ir::DType::Float32, {2, 1, 14, 14});
  auto wrong = quant::runIntegerBatch(*net, half);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message() ==
        "the input holds 196 values per image but the integer network "
        "expects 784");
}
