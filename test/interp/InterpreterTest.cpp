#include "InterpTestUtil.h"

using namespace mars;
using namespace mars::interp::test;
using ir::OpKind;

namespace {
/// x -> Relu -> a; a + x -> y; a is read twice and freed after the Add.
ir::Graph reluAdd() {
  ir::Graph g;
  g.name = "residual";
  ir::ValueId x = g.addValue("x", f32Type({3}));
  g.inputs.push_back(x);
  ir::ValueId a = g.addValue("a", f32Type({3}));
  ir::ValueId y = g.addValue("y", f32Type({3}));
  g.addNode(OpKind::Relu, "relu", {x}, {a});
  g.addNode(OpKind::Add, "add", {a, x}, {y});
  g.outputs = {y, a};
  return g;
}
} // namespace

TEST_CASE("run evaluates a graph and returns every output") {
  auto r = interp::run(reluAdd(), {f32({3}, {-1, 0, 2})});
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  checkClose((*r)[0], {-1, 0, 4});
  checkClose((*r)[1], {0, 0, 2});
}

TEST_CASE("run names an input of the wrong type") {
  auto shape = interp::run(reluAdd(), {f32({4}, {1, 2, 3, 4})});
  REQUIRE_FALSE(shape.ok());
  CHECK_THAT(shape.error().message(), Catch::Contains("input 'x'") &&
                                          Catch::Contains("f32[3]") &&
                                          Catch::Contains("f32[4]"));
  auto dtype = interp::run(reluAdd(), {typed(DType::Int8, {3}, {1, 2, 3})});
  REQUIRE_FALSE(dtype.ok());
  CHECK_THAT(dtype.error().message(), Catch::Contains("input 'x'"));
}

TEST_CASE("run rejects a wrong number of inputs") {
  auto r = interp::run(reluAdd(), {});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), Catch::Contains("1 inputs but 0"));
}

TEST_CASE("run reports a node that reads a value not computed yet") {
  ir::Graph g = reluAdd();
  std::swap(g.nodes()[0], g.nodes()[1]);
  auto r = interp::run(g, {f32({3}, {1, 2, 3})});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(),
             Catch::Contains("node 'add' (Add)") && Catch::Contains("'a'"));
}
