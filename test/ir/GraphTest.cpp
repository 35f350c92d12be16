#include "mars/ir/Graph.h"
#include "mars/ir/Printer.h"
#include "mars/ir/Verifier.h"

#include <catch2/catch.hpp>

using namespace mars::ir;
using mars::Status;

namespace {
TensorType f32(Shape s) { return TensorType{DType::Float32, std::move(s), {}}; }

/// x -> Conv(w) -> Relu -> y, with nodes added in reverse order.
Graph makeConvRelu() {
  Graph g;
  g.name = "tiny";
  ValueId x = g.addValue("x", f32({1, 1, 4, 4}));
  g.inputs.push_back(x);
  ValueId w = g.addInitializer(
      "w", Tensor::fromFloats({2, 1, 3, 3}, std::vector<float>(18, 0.5f)));
  ValueId c = g.addValue("c", f32({1, 2, 2, 2}));
  ValueId y = g.addValue("y", f32({1, 2, 2, 2}));
  g.addNode(OpKind::Relu, "relu", {c}, {y});
  AttributeMap attrs;
  attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  attrs.set("group", int64_t{1});
  g.addNode(OpKind::Conv, "conv", {x, w}, {c}, attrs);
  g.outputs.push_back(y);
  return g;
}
} // namespace

TEST_CASE("topoSort orders producers first and verifier accepts") {
  Graph g = makeConvRelu();
  CHECK_FALSE(verify(g).empty()); // relu reads c before conv defines it
  REQUIRE(g.topoSort().ok());
  CHECK(g.nodes()[0].op == OpKind::Conv);
  CHECK(verify(g).empty());
}

TEST_CASE("printer output is deterministic and golden") {
  Graph g = makeConvRelu();
  REQUIRE(g.topoSort().ok());
  const char *expected = "graph tiny {\n"
                         "  input %x: f32[1,1,4,4]\n"
                         "  init %w: f32[2,1,3,3]\n"
                         "  %c: f32[1,2,2,2] = Conv(%x, %w) {group=1, "
                         "kernel_shape=[3,3]} # conv\n"
                         "  %y: f32[1,2,2,2] = Relu(%c) # relu\n"
                         "  output %y\n"
                         "}\n";
  CHECK(printGraph(g) == expected);
  Graph again = makeConvRelu();
  REQUIRE(again.topoSort().ok());
  CHECK(printGraph(again) == printGraph(g));
}

TEST_CASE("topoSort reports a cycle with node context") {
  Graph g;
  g.name = "cyclic";
  ValueId a = g.addValue("a", f32({1}));
  ValueId b = g.addValue("b", f32({1}));
  g.addNode(OpKind::Relu, "r1", {a}, {b});
  g.addNode(OpKind::Relu, "r2", {b}, {a});
  g.outputs.push_back(b);
  Status s = g.topoSort();
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message(), Catch::Contains("cycle"));
  CHECK_THAT(s.error().message(), Catch::Contains("(Relu)"));
}

TEST_CASE("topoSort reports an undefined input") {
  Graph g;
  ValueId a = g.addValue("missing", f32({1}));
  ValueId b = g.addValue("b", f32({1}));
  g.addNode(OpKind::Relu, "r", {a}, {b});
  Status s = g.topoSort();
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message(), Catch::Contains("'missing'"));
}

TEST_CASE("verifier reports every violation, not just the first") {
  Graph g = makeConvRelu();
  REQUIRE(g.topoSort().ok());
  g.nodes()[0].attrs.set("bogus", int64_t{1});
  g.nodes()[0].attrs.set("group", 1.0f);
  g.nodes()[1].inputs.push_back(g.inputs[0]); // Relu takes one input
  auto errors = verify(g);
  REQUIRE(errors.size() == 3);
  CHECK_THAT(errors[0], Catch::Contains("node 'conv' (Conv)"));
  CHECK_THAT(errors[2], Catch::Contains("node 'relu' (Relu): has 2 inputs"));
}

TEST_CASE("removeDeadCode drops unused nodes and renumbers values") {
  Graph g = makeConvRelu();
  REQUIRE(g.topoSort().ok());
  g.outputs = {*g.findValue("c")};
  CHECK(g.removeDeadCode() == 1);
  CHECK(g.numNodes() == 1);
  CHECK(!g.findValue("y"));
  CHECK(verify(g).empty());
}

TEST_CASE("tensor conversions") {
  Tensor t(DType::Int8, {3});
  t.setFromDouble(0, -3);
  t.setFromDouble(1, 127);
  t.setFromDouble(2, 5);
  CHECK(t.toInt64s() == std::vector<int64_t>{-3, 127, 5});
  CHECK(t.byteSize() == 3);
  CHECK(opKindFromName("Conv") == OpKind::Conv);
  CHECK(!opKindFromName("ConvTranspose"));
  CHECK(declaredAttributeType(OpKind::Conv, "pads") == "ints");
}
