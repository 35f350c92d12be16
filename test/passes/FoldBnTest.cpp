// fold-bn on its own: the printed graph after the pass (golden text), the
// same function on the reference interpreter, and the cases where it must
// leave a BatchNormalization alone.
#include "common/Golden.h"
#include "mars/interp/Interpreter.h"
#include "mars/ir/Printer.h"
#include "mars/passes/Passes.h"
#include "mars/zoo/Random.h"
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
  zoo::Random random(11);
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

/// fold-bn must leave the graph's one unfoldable BN in place and compute
/// the same function.
void expectBnKept(const ir::Graph &g) {
  ir::Graph folded = g;
  foldBn(folded);
  CHECK(countOps(folded, ir::OpKind::BatchNormalization) == 1);
  checkClose(evaluate(g), evaluate(folded));
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

TEST_CASE("fold-bn: must not fire where folding would change the graph") {
  SECTION("the Conv output has a second reader") {
    ir::Graph g = smallLenet();
    const ir::NodeId bn = firstNode(g, ir::OpKind::BatchNormalization);
    const ir::ValueId convOut = g.node(bn).inputs[0];
    ir::ValueId side = g.addValue("side", g.value(convOut).type);
    g.addNode(ir::OpKind::Relu, "side_relu", {convOut}, {side}, {});
    g.outputs.push_back(side);
    REQUIRE(g.topoSort());
    expectBnKept(g);
  }
  SECTION("the Conv output is itself a graph output") {
    ir::Graph g = smallLenet();
    const ir::NodeId bn = firstNode(g, ir::OpKind::BatchNormalization);
    g.outputs.push_back(g.node(bn).inputs[0]);
    expectBnKept(g);
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
