// fold-bn on its own: the printed graph after the pass (golden text), the
// same function on the reference interpreter, and the cases where it must
// leave a BatchNormalization alone.
#include "common/Golden.h"
#include "mars/interp/Interpreter.h"
#include "mars/ir/Printer.h"
#include "mars/passes/Passes.h"
#include "mars/support/Random.h"
#include "mars/zoo/Zoo.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>

using namespace mars;

namespace {

/// lenet5 at a quarter width: two Conv → BN → ReLU blocks.
ir::Graph smallLenet() {
  zoo::ModelOptions options;
  options.widthMultiplier = 0.25;
  Expected<ir::Graph> g = zoo::buildModel("lenet5", options);
  REQUIRE(g);
  return g.take();
}

int countOps(const ir::Graph &g, ir::OpKind op) {
  int n = 0;
  for (const ir::Node &node : g.nodes())
    n += node.op == op;
  return n;
}

bool foldBn(ir::Graph &g) {
  passes::CompileState state;
  state.graph = g;
  passes::CompileContext context;
  Expected<bool> changed = passes::runFoldBn(state, context);
  REQUIRE(changed);
  g = state.graph;
  return *changed;
}

/// All outputs of the graph on one seeded image.
std::vector<ir::Tensor> evaluate(const ir::Graph &g) {
  ir::Tensor x(ir::DType::Float32, g.value(g.inputs[0]).type.shape);
  Random random(11);
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.setFromDouble(i, random.uniform(0, 1));
  auto out = interp::run(g, {x});
  REQUIRE(out);
  return *out;
}

ir::NodeId firstNode(const ir::Graph &g, ir::OpKind op) {
  for (size_t i = 0; i < g.numNodes(); ++i)
    if (g.node(i).op == op)
      return static_cast<ir::NodeId>(i);
  FAIL("no such node");
  return ir::kNoNode;
}

ir::NodeId firstNamed(const ir::Graph &g, const std::string &suffix) {
  for (size_t i = 0; i < g.numNodes(); ++i) {
    const std::string &n = g.node(i).name;
    if (n.size() >= suffix.size() &&
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      return static_cast<ir::NodeId>(i);
  }
  FAIL("no node named *" << suffix);
  return ir::kNoNode;
}

void checkClose(const std::vector<ir::Tensor> &a,
                const std::vector<ir::Tensor> &b) {
  REQUIRE(a.size() == b.size());
  for (size_t t = 0; t < a.size(); ++t) {
    REQUIRE(a[t].numElements() == b[t].numElements());
    for (int64_t i = 0; i < a[t].numElements(); ++i) {
      const double x = a[t].getAsDouble(i), y = b[t].getAsDouble(i);
      INFO("output " << t << " element " << i);
      CHECK(std::abs(x - y) <= 1e-4 * std::max(1.0, std::abs(x)));
    }
  }
}

/// A BN that cannot fold into the Conv before it folds into a depthwise
/// 1×1 Conv of its own instead: no BN left, one Conv more, that Conv's
/// output still read as before, the same function.
void expectBnGivenItsOwnConv(const ir::Graph &g) {
  ir::Graph folded = g;
  REQUIRE(foldBn(folded));
  CHECK(countOps(folded, ir::OpKind::BatchNormalization) == 0);
  CHECK(countOps(folded, ir::OpKind::Conv) ==
        countOps(g, ir::OpKind::Conv) + 1);
  const ir::NodeId affine = firstNamed(folded, ".affine");
  CHECK(folded.node(affine).attrs.getInt("group", 1) ==
        folded.value(folded.node(affine).inputs[0]).type.shape[1]);
  checkClose(evaluate(g), evaluate(folded));
}

/// Inserts an inference BN (non-trivial statistics) reading `v`; its users
/// read the BN's output instead.
void insertBatchNorm(ir::Graph &g, ir::ValueId v, const std::string &name) {
  const ir::TensorType type = g.value(v).type;
  const int64_t c = type.shape[1];
  std::vector<float> gamma, beta, mean, var;
  for (int64_t i = 0; i < c; ++i) {
    gamma.push_back(0.5f + 0.1f * float(i % 7));
    beta.push_back(-0.2f + 0.05f * float(i % 5));
    mean.push_back(0.1f * float(i % 3));
    var.push_back(0.6f + 0.2f * float(i % 4));
  }
  std::vector<ir::ValueId> params;
  for (const auto &[suffix, values] :
       {std::pair{"gamma", gamma}, {"beta", beta}, {"mean", mean}, {"var", var}})
    params.push_back(g.addInitializer(name + "." + suffix,
                                      ir::Tensor::fromFloats({c}, values)));
  const ir::ValueId out = g.addValue(name + ".out", type);
  const std::vector<ir::NodeId> users = g.users(v);
  g.addNode(ir::OpKind::BatchNormalization, name,
            {v, params[0], params[1], params[2], params[3]}, {out}, {});
  for (ir::NodeId u : users)
    for (ir::ValueId &in : g.node(u).inputs)
      if (in == v)
        in = out;
  REQUIRE(g.topoSort());
}

} // namespace

TEST_CASE("fold-bn: golden text after the pass") {
  ir::Graph g = smallLenet();
  REQUIRE(foldBn(g));
  const std::string text = ir::printGraph(g);
  const std::string expected =
      test::goldenText("passes/golden/fold-bn.lenet5.txt", text);
  REQUIRE_FALSE(expected.empty());
  CHECK(text == expected);
  CHECK(countOps(g, ir::OpKind::BatchNormalization) == 0);
}

TEST_CASE("fold-bn: the folded graph computes the same function") {
  ir::Graph original = smallLenet();
  ir::Graph folded = original;
  REQUIRE(foldBn(folded));
  checkClose(evaluate(original), evaluate(folded));
  // Running it again finds nothing to do.
  CHECK_FALSE(foldBn(folded));
}

TEST_CASE("fold-bn: must not fold into a Conv where that would change the "
          "graph; the BN gets a Conv of its own") {
  SECTION("the Conv output has a second reader") {
    ir::Graph g = smallLenet();
    const ir::NodeId bn = firstNode(g, ir::OpKind::BatchNormalization);
    const ir::ValueId convOut = g.node(bn).inputs[0];
    ir::ValueId side = g.addValue("side", g.value(convOut).type);
    g.addNode(ir::OpKind::Relu, "side_relu", {convOut}, {side}, {});
    g.outputs.push_back(side);
    REQUIRE(g.topoSort());
    expectBnGivenItsOwnConv(g);
  }
  SECTION("the Conv output is itself a graph output") {
    ir::Graph g = smallLenet();
    const ir::NodeId bn = firstNode(g, ir::OpKind::BatchNormalization);
    g.outputs.push_back(g.node(bn).inputs[0]);
    expectBnGivenItsOwnConv(g);
  }
  SECTION("training-mode BN uses batch statistics") {
    ir::Graph g = smallLenet();
    for (ir::Node &node : g.nodes())
      if (node.op == ir::OpKind::BatchNormalization)
        node.attrs.set("training_mode", ir::Attribute(int64_t(1)));
    CHECK_FALSE(foldBn(g));
    CHECK(countOps(g, ir::OpKind::BatchNormalization) == 2);
  }
}

TEST_CASE("fold-bn: a BN that no Conv precedes folds into a depthwise 1x1 "
          "Conv of its own") {
  SECTION("after a pool (pre-activation order: BN -> ReLU -> Conv)") {
    ir::Graph g = smallLenet();
    const ir::NodeId pool = firstNode(g, ir::OpKind::MaxPool);
    insertBatchNorm(g, g.node(pool).outputs[0], "pre_bn");
    expectBnGivenItsOwnConv(g);
  }
  SECTION("after a Concat (DenseNet's order)") {
    ir::Graph g = smallLenet();
    const ir::NodeId pool = firstNode(g, ir::OpKind::MaxPool);
    const ir::ValueId p = g.node(pool).outputs[0];
    ir::TensorType type = g.value(p).type;
    const std::vector<ir::NodeId> users = g.users(p);
    type.shape[1] *= 2;
    const ir::ValueId cat = g.addValue("cat", type);
    ir::AttributeMap axis;
    axis.set("axis", ir::Attribute(int64_t(1)));
    g.addNode(ir::OpKind::Concat, "cat", {p, p}, {cat}, axis);
    // The next Conv reads the Concat: twice the input channels.
    ir::Node &conv = g.node(users.at(0));
    REQUIRE(conv.op == ir::OpKind::Conv);
    ir::Tensor &w = *g.value(conv.inputs[1]).constant;
    const ir::Shape ws = w.shape();
    std::vector<float> wide;
    const std::vector<float> narrow = w.toFloats();
    const int64_t perOut = ws[1] * ws[2] * ws[3];
    for (int64_t o = 0; o < ws[0]; ++o)
      for (int k = 0; k < 2; ++k)
        wide.insert(wide.end(), narrow.begin() + o * perOut,
                    narrow.begin() + (o + 1) * perOut);
    w = ir::Tensor::fromFloats({ws[0], 2 * ws[1], ws[2], ws[3]}, wide);
    g.value(conv.inputs[1]).type.shape = w.shape();
    conv.inputs[0] = cat;
    REQUIRE(g.topoSort());
    insertBatchNorm(g, cat, "cat_bn");
    expectBnGivenItsOwnConv(g);
  }
  SECTION("a training-mode BN is still left alone") {
    ir::Graph g = smallLenet();
    const ir::NodeId pool = firstNode(g, ir::OpKind::MaxPool);
    insertBatchNorm(g, g.node(pool).outputs[0], "pre_bn");
    g.node(firstNamed(g, "pre_bn")).attrs.set("training_mode",
                                              ir::Attribute(int64_t(1)));
    foldBn(g);
    CHECK(countOps(g, ir::OpKind::BatchNormalization) == 1);
  }
}
