// fold-bn through the pass harness (test/common/PassHarness.h): the graph
// printed before and after the pass (golden text), the same function on the
// reference interpreter, and the cases where it must leave a
// BatchNormalization alone.
#include "common/PassHarness.h"
#include "mars/passes/Passes.h"

#include <catch2/catch.hpp>

using namespace mars;
using test::countOps;
using test::firstNode;

namespace {

/// fold-bn alone: it needs no arch, options or calibration.
test::PassRun foldBnRun(const ir::Graph &g) {
  passes::CompileState state;
  state.graph = g;
  return test::runPassOn("fold-bn", state, passes::CompileContext{});
}

bool foldBn(ir::Graph &g) {
  test::PassRun run = foldBnRun(g);
  g = run.after.graph;
  return run.changed;
}

/// Folding rewrites w·γ/√(σ²+ε) and (b−μ)·γ/√(σ²+ε)+β into new float32
/// constants: each product and quotient rounds once (≤ 2^-24 relative), and
/// the interpreter accumulates Conv/Gemm in double, so outputs move by a few
/// float32 ulps of the values summed. 1e-4 relative (absolute below 1) is
/// far above that and far below what a wrong fold does (a missing β or a
/// wrong channel moves outputs by O(0.1)).
constexpr double kFoldTolerance = 1e-4;

/// The folded and unfolded graph on the same three seeded images.
void checkSameFunction(const ir::Graph &a, const ir::Graph &b) {
  const auto images = test::seededImages(a, 3, /*seed=*/11);
  test::checkFloatClose(test::interpret(a, images), test::interpret(b, images),
                        kFoldTolerance);
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
  checkSameFunction(g, folded);
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
  for (const auto &[suffix, values] : {std::pair{"gamma", gamma},
                                       {"beta", beta},
                                       {"mean", mean},
                                       {"var", var}})
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

TEST_CASE("fold-bn: golden text before and after the pass") {
  test::PassRun run = foldBnRun(test::quarterLenet5());
  REQUIRE(run.changed);
  test::checkGolden("fold-bn", "lenet5", run);
  CHECK(countOps(run.after.graph, ir::OpKind::BatchNormalization) == 0);
}

TEST_CASE("fold-bn: the folded graph computes the same function") {
  test::PassRun run = foldBnRun(test::quarterLenet5());
  REQUIRE(run.changed);
  checkSameFunction(run.before.graph, run.after.graph);
}

TEST_CASE("fold-bn: must not fire on a graph without BatchNormalization") {
  // The folded graph: running the pass again finds nothing to do.
  test::PassRun run = foldBnRun(foldBnRun(test::quarterLenet5()).after.graph);
  test::checkUnchanged(run);
}

TEST_CASE("fold-bn: must not fold into a Conv where that would change the "
          "graph; the BN gets a Conv of its own") {
  SECTION("the Conv output has a second reader") {
    ir::Graph g = test::quarterLenet5();
    const ir::NodeId bn = firstNode(g, ir::OpKind::BatchNormalization);
    const ir::ValueId convOut = g.node(bn).inputs[0];
    ir::ValueId side = g.addValue("side", g.value(convOut).type);
    g.addNode(ir::OpKind::Relu, "side_relu", {convOut}, {side}, {});
    g.outputs.push_back(side);
    REQUIRE(g.topoSort());
    expectBnGivenItsOwnConv(g);
  }
  SECTION("the Conv output is itself a graph output") {
    ir::Graph g = test::quarterLenet5();
    const ir::NodeId bn = firstNode(g, ir::OpKind::BatchNormalization);
    g.outputs.push_back(g.node(bn).inputs[0]);
    expectBnGivenItsOwnConv(g);
  }
  SECTION("training-mode BN uses batch statistics") {
    ir::Graph g = test::quarterLenet5();
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
    ir::Graph g = test::quarterLenet5();
    const ir::NodeId pool = firstNode(g, ir::OpKind::MaxPool);
    insertBatchNorm(g, g.node(pool).outputs[0], "pre_bn");
    expectBnGivenItsOwnConv(g);
  }
  SECTION("after a Concat (DenseNet's order)") {
    ir::Graph g = test::quarterLenet5();
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
    ir::Graph g = test::quarterLenet5();
    const ir::NodeId pool = firstNode(g, ir::OpKind::MaxPool);
    insertBatchNorm(g, g.node(pool).outputs[0], "pre_bn");
    g.node(firstNamed(g, "pre_bn"))
        .attrs.set("training_mode", ir::Attribute(int64_t(1)));
    foldBn(g);
    CHECK(countOps(g, ir::OpKind::BatchNormalization) == 1);
  }
}

TEST_CASE("fold-bn: a Pad that pads nothing between a Conv and its BN is "
          "removed, and the BN folds into the Conv") {
  // Real padding is fold-pad's; a Pad of zeros is an identity that would
  // otherwise hide the Conv from its BN (which would then get a Conv of its
  // own), so fold-bn removes it first, as it did before fold-pad existed.
  ir::Graph g = test::quarterLenet5();
  test::insertPad(g, firstNode(g, ir::OpKind::BatchNormalization), {0, 0, 0, 0},
                  "nothing_pad");
  test::PassRun run = foldBnRun(g);
  REQUIRE(run.changed);
  const ir::Graph &folded = run.after.graph;
  CHECK(countOps(folded, ir::OpKind::Pad) == 0);
  CHECK(countOps(folded, ir::OpKind::BatchNormalization) == 0);
  CHECK(countOps(folded, ir::OpKind::Conv) == countOps(g, ir::OpKind::Conv));
  int64_t removed = -1;
  for (const passes::Statistic &s : run.after.stats)
    if (s.pass == "fold-bn" && s.name == "Pad nodes that pad nothing removed")
      removed = s.value;
  CHECK(removed == 1);
  checkSameFunction(g, folded);
}
