// interp/Outputs: `marsc eval`'s random inputs and output summaries.
#include "mars/interp/Outputs.h"
#include "mars/support/Random.h"

#include <catch2/catch.hpp>

using namespace mars;

namespace {

/// A graph with a float image input and an int8 input, and one output.
ir::Graph twoInputs() {
  ir::Graph g;
  g.name = "two";
  ir::ValueId x = g.addValue("x", {ir::DType::Float32, {1, 1, 2, 2}, {}});
  ir::ValueId k = g.addValue("k", {ir::DType::Int8, {3}, {}});
  g.inputs = {x, k};
  g.outputs = {x};
  return g;
}

} // namespace

TEST_CASE("random inputs: floats in [0, 1), integers in [0, 127], seeded",
          "[outputs]") {
  ir::Graph g = twoInputs();
  std::vector<ir::Tensor> a = interp::randomInputs(g, 5);
  REQUIRE(a.size() == 2);
  CHECK(a[0].type().toString() == "f32[1,1,2,2]");
  CHECK(a[1].dtype() == ir::DType::Int8);
  // One stream over all inputs, in order; floats as Random::unitFloats.
  std::vector<float> expected = Random(5).unitFloats(4);
  for (int64_t i = 0; i < 4; ++i)
    CHECK(a[0].getAsDouble(i) == double(expected[size_t(i)]));
  for (int64_t i = 0; i < 3; ++i) {
    CHECK(a[1].getAsDouble(i) >= 0);
    CHECK(a[1].getAsDouble(i) <= 127);
  }
  CHECK(interp::randomInputs(g, 5)[1] == a[1]);
  CHECK_FALSE(interp::randomInputs(g, 6)[0] == a[0]);
}

TEST_CASE("summaries: min, max, mean and a deterministic top-5", "[outputs]") {
  ir::Tensor logits(ir::DType::Float32, {1, 7});
  const double v[] = {0.5, 2, -1, 2, 0.25, 3, 0};
  for (int64_t i = 0; i < 7; ++i)
    logits.setFromDouble(i, v[i]);
  interp::OutputSummary s = interp::summarize(logits);
  CHECK(s.min == -1);
  CHECK(s.max == 3);
  CHECK(s.mean == Approx(6.75 / 7));
  // Ties (2 at indices 1 and 3) keep the lower index first.
  std::vector<std::pair<int64_t, double>> top = {
      {5, 3}, {1, 2}, {3, 2}, {0, 0.5}, {4, 0.25}};
  CHECK(s.top == top);

  ir::Tensor map(ir::DType::Float32, {1, 1, 2, 2});
  CHECK(interp::summarize(map).top.empty()); // only [1, K] outputs rank

  ir::Graph g;
  ir::ValueId y = g.addValue("y", logits.type());
  g.outputs = {y};
  CHECK(interp::formatOutputs(g, {logits}, 1.5) ==
        "output 'y': f32[1,7]  min -1  max 3  mean 0.964286\n"
        "  top-5: 5 (3) 1 (2) 3 (2) 0 (0.5) 4 (0.25)\n"
        "time: 1.500 ms\n");
}
