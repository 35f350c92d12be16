// fold-pad through the pass harness (test/common/PassHarness.h): the graph
// printed before and after the pass (golden text), the same function on the
// reference interpreter, the Pads it must leave alone; and that fold-bn then
// fold-pad give the graph that fold-bn gave when it folded Pads itself.
#include "CompileTestUtil.h"
#include "common/PassHarness.h"
#include "mars/ir/Canonicalize.h"
#include "mars/ir/Printer.h"
#include "mars/passes/Passes.h"

#include <catch2/catch.hpp>

using namespace mars;
using test::countOps;
using test::firstNode;

namespace {

/// fold-pad's golden model, tinyPaddedNet, on the harness's small chip.
test::PassInput tinyPadded() {
  return test::smallChipInput("tiny_padded", test::tinyPaddedNet(),
                              /*prune=*/0.5);
}

/// A pass list on a copy of `g`; REQUIREs success.
ir::Graph runPasses(const std::vector<std::string> &list, const ir::Graph &g) {
  passes::CompileState state;
  state.graph = g;
  auto ran = passes::runPipeline(list, state, passes::CompileContext{});
  if (!ran)
    FAIL(ran.error().message());
  return state.graph;
}

/// A folded Pad adds exactly the zeros the Pad added, to the same sums:
/// the Conv's and the pool's results can differ only in summation order.
/// 1e-6 relative is above that and far below a wrong fold (a pad on the
/// wrong side shifts the image: outputs move by O(0.1)).
constexpr double kPadTolerance = 1e-6;
/// With BN folding too: FoldBnTest's tolerance (derived there).
constexpr double kFoldTolerance = 1e-4;

void checkSameFunction(const ir::Graph &a, const ir::Graph &b, double relTol) {
  const auto images = test::seededImages(a, 3, /*seed=*/13);
  test::checkFloatClose(test::interpret(a, images), test::interpret(b, images),
                        relTol);
}

/// The graph's Pad nodes.
std::vector<ir::NodeId> padNodes(const ir::Graph &g) {
  std::vector<ir::NodeId> out;
  for (size_t i = 0; i < g.numNodes(); ++i)
    if (g.node(i).op == ir::OpKind::Pad)
      out.push_back(static_cast<ir::NodeId>(i));
  return out;
}

} // namespace

TEST_CASE("fold-pad: golden text before and after the pass") {
  test::PassRun run = test::runPass("fold-pad", tinyPadded());
  REQUIRE(run.changed);
  test::checkGolden("fold-pad", "tiny_padded", run);
  CHECK(countOps(run.before.graph, ir::OpKind::Pad) == 3);
  CHECK(countOps(run.after.graph, ir::OpKind::Pad) == 0);
  const ir::Node &pool =
      run.after.graph.node(firstNode(run.after.graph, ir::OpKind::AveragePool));
  CHECK(pool.attrs.getInt("count_include_pad", 0) == 1);
  CHECK(pool.attrs.getInts("pads", {}) == std::vector<int64_t>{1, 1, 1, 1});
  int64_t folded = -1;
  for (const passes::Statistic &st : run.after.stats)
    if (st.pass == "fold-pad" &&
        st.name == "Pad nodes folded into the next layer")
      folded = st.value;
  CHECK(folded == 3);
}

TEST_CASE("fold-pad: the folded graph computes the same function") {
  test::PassRun run = test::runPass("fold-pad", tinyPadded());
  REQUIRE(run.changed);
  checkSameFunction(run.before.graph, run.after.graph, kPadTolerance);
}

TEST_CASE("fold-pad: must not fire on a graph without Pads") {
  // The folded graph: running the pass again finds nothing to do.
  const test::PassInput in = tinyPadded();
  test::PassRun run = test::runPass("fold-pad", in);
  test::checkUnchanged(test::runPassOn("fold-pad", run.after, in.context));
}

TEST_CASE("fold-pad: must not fold a Pad where that would change the "
          "function") {
  // Each section spoils every Pad of the model in one way; none may fold.
  const test::PassInput in = tinyPadded();
  passes::CompileState state = test::stateBefore("fold-pad", in);
  ir::Graph &g = state.graph;
  const std::vector<ir::NodeId> pads = padNodes(g);
  REQUIRE(pads.size() == 3);
  SECTION("the Pad's value is not zero") {
    for (ir::NodeId id : pads) {
      const ir::ValueId value = g.addInitializer(
          g.node(id).name + ".value", ir::Tensor::fromFloats({}, {0.5f}));
      g.node(id).inputs.push_back(value);
    }
  }
  SECTION("the Pad reflects the border instead of adding zeros") {
    for (ir::NodeId id : pads)
      g.node(id).attrs.set("mode", ir::Attribute(std::string("reflect")));
  }
  SECTION("the Pad's pads are not a constant") {
    for (ir::NodeId id : pads) {
      const ir::ValueId padsIn = g.node(id).inputs[1];
      g.value(padsIn).constant.reset();
      g.inputs.push_back(padsIn);
    }
  }
  SECTION("the Pad's output is also a graph output") {
    for (ir::NodeId id : pads)
      g.outputs.push_back(g.node(id).outputs[0]);
  }
  test::checkUnchanged(test::runPassOn("fold-pad", state, in.context));
}

TEST_CASE("fold-pad: fold-bn then fold-pad give the graph of one "
          "canonicalisation with every fold, as fold-bn did before the "
          "split") {
  // Before the split, fold-bn ran ir::canonicalize with every rewrite (as
  // `marsc train` still does), then folded BNs. That composition and the
  // two passes must build the same graph, ids and names included.
  auto oneCanonicalisation = [](ir::Graph g) {
    REQUIRE(ir::canonicalize(g));
    return runPasses({"fold-bn"}, g);
  };
  ir::Graph g = test::tinyPaddedNet();
  SECTION("Pads in front of Convs and of an AveragePool") {}
  SECTION("a Pad that pads nothing between a Conv and its BN") {
    // fold-bn removes it, so that the BN still folds into the Conv.
    const ir::NodeId bn = firstNode(g, ir::OpKind::BatchNormalization);
    test::insertPad(g, bn, {0, 0, 0, 0}, "nothing_pad");
  }
  SECTION("a Pad that pads nothing in front of a Pad") {
    const ir::NodeId pad = firstNode(g, ir::OpKind::Pad);
    test::insertPad(g, pad, {0, 0, 0, 0}, "nothing_pad");
  }
  const ir::Graph split = runPasses({"fold-bn", "fold-pad"}, g);
  const ir::Graph before = oneCanonicalisation(g);
  CHECK(ir::printGraph(split) == ir::printGraph(before));
  CHECK(split == before);
  CHECK(countOps(split, ir::OpKind::Pad) == 0);
  CHECK(countOps(split, ir::OpKind::BatchNormalization) == 0);
  checkSameFunction(g, split, kFoldTolerance);
}

TEST_CASE("fold-pad: a Pad read by a BN folds into the Conv fold-bn gives "
          "that BN") {
  // The one graph where the split changes the outcome: before it, Pads were
  // folded before the BN had a Conv of its own, so a Pad read by a BN stayed
  // and the chip refused it ("a separate Pad cannot run on the chip").
  // Here conv2's Pad moves in front of bn1 (shapes stay as they were).
  ir::Graph g = test::tinyPaddedNet();
  for (ir::NodeId id : padNodes(g))
    if (g.node(id).name == "conv2_pad")
      for (ir::NodeId user : g.users(g.node(id).outputs[0]))
        g.node(user).inputs[0] = g.node(id).inputs[0];
  g.removeDeadCode();
  REQUIRE(padNodes(g).size() == 2);
  test::insertPad(g, firstNode(g, ir::OpKind::BatchNormalization), {1, 1, 1, 1},
                  "bn1_pad");
  const ir::Graph folded = runPasses({"fold-bn", "fold-pad"}, g);
  CHECK(countOps(folded, ir::OpKind::Pad) == 0);
  CHECK(countOps(folded, ir::OpKind::BatchNormalization) == 0);
  // conv1, bn1's depthwise 1×1 Conv (now padded), conv2.
  CHECK(countOps(folded, ir::OpKind::Conv) ==
        countOps(g, ir::OpKind::Conv) + 1);
  checkSameFunction(g, folded, kFoldTolerance);
}

TEST_CASE("fold-pad: a --pipeline without it is refused with the pass named") {
  // A user's own pass list that leaves fold-pad out keeps the model's Pads;
  // quantize refuses them and says which pass folds them.
  passes::CompileState state;
  state.graph = test::tinyPaddedNet();
  passes::CompileContext context;
  context.arch = arch::defaultArch();
  context.calibration = test::randomCalibration(state.graph, 1, /*seed=*/3);
  auto ran = passes::runPipeline({"fold-bn", "quantize"}, state, context);
  REQUIRE(!ran);
  CHECK_THAT(ran.error().message(),
             Catch::Contains("a separate Pad cannot run on the chip") &&
                 Catch::Contains("fold-pad"));
}
