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

TEST_CASE("session: runEach on two threads gives each set run()'s bits, "
          "once") {
  // Calibration runs its images this way; the matrix products inside each
  // run stay on its thread, which must not change a bit.
  const ir::Graph g = twoConvs(false);
  Session session(g);
  constexpr int64_t kSets = 9;
  std::vector<int> calls(kSets, 0);
  std::vector<Tensor> outputs(kSets);
  auto inputsOf = [](int64_t i) {
    return std::vector<Tensor>{randomTensor({1, 4, 9, 9}, 100 + uint64_t(i))};
  };
  Status status = session.runEach(kSets, 2, inputsOf,
                                  [&](int64_t i, std::vector<Tensor> &outs) {
                                    ++calls[size_t(i)];
                                    outputs[size_t(i)] = outs.at(0);
                                    return Status::success();
                                  });
  REQUIRE(status);
  for (int64_t i = 0; i < kSets; ++i) {
    INFO("set " << i);
    CHECK(calls[size_t(i)] == 1);
    auto once = run(g, inputsOf(i));
    REQUIRE(once.ok());
    CHECK(sameBits(outputs[size_t(i)], (*once)[0]));
  }
}

TEST_CASE("session: runEach stops at the first error and returns it") {
  const ir::Graph g = twoConvs(false);
  Session session(g);
  int consumed = 0;
  auto count = [&](int64_t, std::vector<Tensor> &) {
    ++consumed;
    return Status::success();
  };
  // A set of the wrong shape: run()'s error, and nothing after the stop.
  Status bad = session.runEach(
      4, 1,
      [](int64_t i) {
        return std::vector<Tensor>{
            randomTensor({1, 4, 9, i == 1 ? 8 : 9}, uint64_t(i))};
      },
      count);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message(), Catch::Contains("input 'x': expected"));
  CHECK(consumed == 1);
  // An error of the consumer is returned as it is.
  Status refused = session.runEach(
      3, 2,
      [](int64_t i) {
        return std::vector<Tensor>{randomTensor({1, 4, 9, 9}, uint64_t(i))};
      },
      [](int64_t, std::vector<Tensor> &) -> Status {
        return makeError("refused");
      });
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message() == "refused");
}

TEST_CASE("session: outputs asked for are the graph's inner values") {
  // Calibration reads every quantization point this way instead of copying
  // the graph with other outputs; a value asked for twice comes twice.
  const ir::Graph g = twoConvs(false);
  ir::Graph innerOut = g;
  innerOut.outputs = {*innerOut.findValue("h"), innerOut.outputs[0]};
  const ir::ValueId h = *g.findValue("h");
  Session session(g, {h, g.outputs[0], h});
  const std::vector<Tensor> in{randomTensor({1, 4, 9, 9}, 30)};
  auto asked = session.run(in);
  auto reference = run(innerOut, in);
  REQUIRE(asked.ok());
  REQUIRE(reference.ok());
  REQUIRE(asked->size() == 3);
  CHECK(sameBits((*asked)[0], (*reference)[0]));
  CHECK(sameBits((*asked)[1], (*reference)[1]));
  CHECK(sameBits((*asked)[2], (*reference)[0]));
}
