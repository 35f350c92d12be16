// interp::Session keeps each Conv's constant weights packed across runs
// (calibration runs one graph per image). It must give run()'s bits on
// every run, and must not reuse packed weights that are not constants.
#include "InterpTestUtil.h"

#include "mars/interp/Interpreter.h"
#include "mars/support/Random.h"

#include <catch2/catch.hpp>

#include <cstring>

using namespace mars;
using namespace mars::interp;
using namespace mars::interp::test;

namespace {

Tensor randomTensor(Shape shape, uint64_t seed) {
  Random random(seed);
  Tensor t(DType::Float32, std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data<float>()[i] = random.uniform(-1.0, 1.0);
  return t;
}

bool sameBits(const Tensor &a, const Tensor &b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data<float>(), b.data<float>(),
                     size_t(a.numElements()) * sizeof(float)) == 0;
}

/// x[1,4,9,9] -> Conv(w1 constant, group 2, pad 1) -> Conv(w2, a graph
/// input when weightsAsInput, else constant) -> y.
ir::Graph twoConvs(bool weightsAsInput) {
  ir::Graph g;
  g.name = "two-convs";
  const ir::ValueId x = g.addValue("x", f32Type({1, 4, 9, 9}));
  g.inputs.push_back(x);
  const ir::ValueId w1 = g.addInitializer("w1", randomTensor({6, 2, 3, 3}, 1));
  const ir::ValueId b1 = g.addInitializer("b1", randomTensor({6}, 2));
  const ir::ValueId h = g.addValue("h", f32Type({1, 6, 9, 9}));
  g.addNode(ir::OpKind::Conv, "c1", {x, w1, b1}, {h},
            attrs({{"group", int64_t(2)},
                   {"pads", std::vector<int64_t>{1, 1, 1, 1}}}));
  ir::ValueId w2;
  if (weightsAsInput) {
    w2 = g.addValue("w2", f32Type({5, 6, 3, 3}));
    g.inputs.push_back(w2);
  } else {
    w2 = g.addInitializer("w2", randomTensor({5, 6, 3, 3}, 3));
  }
  const ir::ValueId y = g.addValue("y", f32Type({1, 5, 7, 7}));
  g.addNode(ir::OpKind::Conv, "c2", {h, w2}, {y}, {});
  g.outputs.push_back(y);
  return g;
}

} // namespace

TEST_CASE("session: every run gives run()'s bits") {
  const ir::Graph g = twoConvs(false);
  Session session(g);
  for (uint64_t seed : {10, 11, 12, 10}) {
    const std::vector<Tensor> in{randomTensor({1, 4, 9, 9}, seed)};
    auto once = run(g, in);
    auto kept = session.run(in);
    REQUIRE(once.ok());
    REQUIRE(kept.ok());
    INFO("seed " << seed);
    CHECK(sameBits((*kept)[0], (*once)[0]));
  }
}

TEST_CASE("session: weights that are graph inputs are not kept") {
  // Two runs with different w2: a cache keyed on anything but constants
  // would give the second run the first run's weights.
  const ir::Graph g = twoConvs(true);
  Session session(g);
  const Tensor x = randomTensor({1, 4, 9, 9}, 20);
  for (uint64_t seed : {21, 22}) {
    const std::vector<Tensor> in{x, randomTensor({5, 6, 3, 3}, seed)};
    auto once = run(g, in);
    auto kept = session.run(in);
    REQUIRE(once.ok());
    REQUIRE(kept.ok());
    INFO("w2 seed " << seed);
    CHECK(sameBits((*kept)[0], (*once)[0]));
  }
}
