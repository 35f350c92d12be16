// Opsets below 9: each op's version in force at the model's opset (ONNX's
// schema registry) is converted into the one IR form, or rejected naming the
// op, the node and the opset.
#include "ModelBuilder.h"

#include "mars/interp/Interpreter.h"
#include "mars/ir/Printer.h"
#include "mars/onnx/Import.h"

#include <catch2/catch.hpp>

namespace ir = mars::ir;
namespace mo = mars::onnx;
namespace test = mars::test;
using Catch::Contains;
using mars::Expected;
using test::ModelBuilder;

namespace {
ir::Graph importOk(const ModelBuilder &b) {
  Expected<ir::Graph> g = mo::importModel(b.bytes(), "l.onnx");
  INFO((g ? std::string() : g.error().message()));
  REQUIRE(g.ok());
  return g.take();
}

std::string importError(const ModelBuilder &b) {
  Expected<ir::Graph> g = mo::importModel(b.bytes(), "l.onnx");
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().message().rfind("l.onnx: ", 0) == 0);
  return g.error().message();
}

std::vector<float> iota(int64_t n, float start) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = start + static_cast<float>(i);
  return v;
}

/// a[2,3,2] `op` b[3] with broadcast=1, axis=1 (opset 6); b is an
/// initializer or a graph input.
ModelBuilder legacyBroadcast(const std::string &op, bool constantB) {
  ModelBuilder b(6);
  b.input("a", {2, 3, 2});
  if (constantB)
    b.initializer("b", {3}, {10, 20, 30});
  else
    b.input("b", {3});
  auto &n = b.node(op, {"a", "b"}, {"y"}, "op");
  test::setInt(n, "broadcast", 1);
  test::setInt(n, "axis", 1);
  b.output("y");
  return b;
}
} // namespace

TEST_CASE("legacy: Add-6 broadcast with axis reshapes B for numpy "
          "broadcasting") {
  CHECK(ir::printGraph(importOk(legacyBroadcast("Add", /*constantB=*/true))) ==
        "graph test {\n"
        "  input %a: f32[2,3,2]\n"
        "  init %b: f32[3] = [10,20,30]\n"
        "  init %op.b: f32[3,1] = [10,20,30]\n"
        "  %y: f32[2,3,2] = Add(%a, %op.b) # op\n"
        "  output %y\n"
        "}\n");
  CHECK(ir::printGraph(importOk(legacyBroadcast("Sub", /*constantB=*/false))) ==
        "graph test {\n"
        "  input %a: f32[2,3,2]\n"
        "  input %b: f32[3]\n"
        "  init %op.shape: i64[2] = [3,1]\n"
        "  %op.b: f32[3,1] = Reshape(%b, %op.shape) {allowzero=0} # "
        "op.reshape\n"
        "  %y: f32[2,3,2] = Sub(%a, %op.b) # op\n"
        "  output %y\n"
        "}\n");

  // Numerically: y[i][j][k] = a[i][j][k] * b[j], as Mul-6 defines it.
  ir::Graph g = importOk(legacyBroadcast("Mul", /*constantB=*/false));
  ir::Tensor a = ir::Tensor::fromFloats({2, 3, 2}, iota(12, 0));
  ir::Tensor b = ir::Tensor::fromFloats({3}, {10, 20, 30});
  auto out = mars::interp::run(g, {a, b});
  INFO((out ? std::string() : out.error().message()));
  REQUIRE(out.ok());
  for (int64_t i = 0; i < 12; ++i)
    CHECK((*out)[0].getAsDouble(i) ==
          static_cast<double>(i) * b.getAsDouble((i / 2) % 3));
}

TEST_CASE("legacy: Add-6 forms that need no reshape, and bad ones") {
  // B matches A's trailing dims (axis defaults to rank(A) - rank(B)); a
  // size-1 dim of B broadcasts.
  ModelBuilder suffix(6);
  suffix.input("a", {2, 3});
  suffix.initializer("b", {1, 3}, {1, 2, 3});
  test::setInt(suffix.node("Add", {"a", "b"}, {"y"}, "add"), "broadcast", 1);
  suffix.output("y");
  CHECK(ir::printGraph(importOk(suffix)) ==
        "graph test {\n"
        "  input %a: f32[2,3]\n"
        "  init %b: f32[1,3] = [1,2,3]\n"
        "  %y: f32[2,3] = Add(%a, %b) # add\n"
        "  output %y\n"
        "}\n");

  // Equal shapes without broadcast.
  ModelBuilder same(6);
  same.input("a", {2, 3});
  same.input("b", {2, 3});
  same.node("Mul", {"a", "b"}, {"y"}, "mul");
  same.output("y");
  CHECK(importOk(same).numNodes() == 1);

  ModelBuilder noBroadcast(6);
  noBroadcast.input("a", {2, 3});
  noBroadcast.input("b", {3});
  noBroadcast.node("Add", {"a", "b"}, {"y"}, "add");
  noBroadcast.output("y");
  CHECK_THAT(importError(noBroadcast),
             Contains("node 'add' (Add): inputs [2,3] and [3] differ and "
                      "broadcast=0 (Add-6 broadcasts only with broadcast=1)"));

  ModelBuilder badAxis = legacyBroadcast("Add", /*constantB=*/true);
  badAxis.graph().mutable_node(0)->mutable_attribute(1)->set_i(3);
  CHECK_THAT(importError(badAxis),
             Contains("node 'op' (Add): axis 3 does not place B [3] inside A "
                      "[2,3,2] (need 0 <= axis <= 2)"));

  ModelBuilder mismatch = legacyBroadcast("Add", /*constantB=*/true);
  mismatch.graph().mutable_node(0)->mutable_attribute(1)->set_i(0);
  CHECK_THAT(importError(mismatch),
             Contains("node 'op' (Add): B [3] at axis 0 does not match A "
                      "[2,3,2]"));

  // From opset 7 the attributes no longer exist.
  ModelBuilder modern = legacyBroadcast("Add", /*constantB=*/true);
  modern.model.mutable_opset_import(0)->set_version(7);
  CHECK_THAT(importError(modern),
             Contains("node 'op' (Add): unsupported attribute"));
}

TEST_CASE("legacy: Gemm-6 broadcast and Gemm before 11 requires C") {
  ModelBuilder b(6);
  b.input("a", {2, 3});
  b.initializer("w", {4, 3}, iota(12, 0));
  b.initializer("c", {4}, {1, 2, 3, 4});
  auto &n = b.node("Gemm", {"a", "w", "c"}, {"y"}, "fc");
  test::setInt(n, "broadcast", 1);
  test::setInt(n, "transB", 1);
  b.output("y");
  CHECK(ir::printGraph(importOk(b)) ==
        "graph test {\n"
        "  input %a: f32[2,3]\n"
        "  init %w: f32[4,3]\n"
        "  init %c: f32[4] = [1,2,3,4]\n"
        "  %y: f32[2,4] = Gemm(%a, %w, %c) {alpha=1, beta=1, transA=0, "
        "transB=1} # fc\n"
        "  output %y\n"
        "}\n");

  // broadcast=0: C must be exactly (M, N).
  ModelBuilder exact = b;
  exact.graph().mutable_node(0)->mutable_attribute(0)->set_i(0);
  CHECK_THAT(importError(exact),
             Contains("node 'fc' (Gemm): C has shape [4] but broadcast=0 "
                      "requires exactly [2,4]"));

  ModelBuilder noC(9);
  noC.input("a", {2, 3});
  noC.initializer("w", {3, 4}, iota(12, 0));
  noC.node("Gemm", {"a", "w"}, {"y"}, "fc");
  noC.output("y");
  CHECK_THAT(importError(noC),
             Contains("node 'fc' (Gemm): C is required before Gemm-11"));
  noC.model.mutable_opset_import(0)->set_version(11);
  CHECK(importOk(noC).numNodes() == 1);
}

TEST_CASE("legacy: BatchNormalization-6 is_test and BatchNormalization-7") {
  auto bn = [](int64_t opset) {
    ModelBuilder b(opset);
    b.input("x", {1, 2, 2, 2});
    for (const char *p : {"s", "bias", "m", "v"})
      b.initializer(p, {2}, {1, 1});
    b.node("BatchNormalization", {"x", "s", "bias", "m", "v"}, {"y"}, "bn");
    b.output("y");
    return b;
  };
  auto training = [](const ir::Graph &g) {
    return g.nodes().front().attrs.getInt("training_mode", -1);
  };

  ModelBuilder test6 = bn(6);
  test::setInt(*test6.graph().mutable_node(0), "is_test", 1);
  test::setInt(*test6.graph().mutable_node(0), "spatial", 1);
  CHECK(training(importOk(test6)) == 0);

  // is_test defaults to 0: training mode, normalising with batch statistics.
  CHECK(training(importOk(bn(6))) == 1);

  ModelBuilder testWithStats = test6;
  testWithStats.graph().mutable_node(0)->add_output("rm");
  testWithStats.graph().mutable_node(0)->add_output("rv");
  CHECK_THAT(importError(testWithStats),
             Contains("node 'bn' (BatchNormalization): is_test=1 with 3 "
                      "outputs"));

  // BatchNormalization-7: no is_test; the outputs say the mode.
  CHECK(training(importOk(bn(7))) == 0);
  ModelBuilder test7 = bn(7);
  test::setInt(*test7.graph().mutable_node(0), "is_test", 1);
  CHECK_THAT(importError(test7),
             Contains("node 'bn' (BatchNormalization): unsupported attribute "
                      "'is_test'"));

  // BatchNormalization-1 (opset 5) has consumed_inputs.
  CHECK_THAT(importError(bn(5)),
             Contains("node 'bn' (BatchNormalization): BatchNormalization-1 "
                      "(the version at ai.onnx opset 5) is not supported: its "
                      "consumed_inputs (in-place) form has no IR equivalent; "
                      "BatchNormalization is supported from opset 6"));
}

TEST_CASE("legacy: Dropout-6 is_test and Dropout-7 ratio") {
  auto dropout = [](int64_t opset) {
    ModelBuilder b(opset);
    b.input("x", {1, 4});
    test::setFloat(b.node("Dropout", {"x"}, {"y"}, "drop"), "ratio", 0.2f);
    b.output("y");
    return b;
  };
  const std::string expected = "graph test {\n"
                               "  input %x: f32[1,4]\n"
                               "  %y: f32[1,4] = Dropout(%x) # drop\n"
                               "  output %y\n"
                               "}\n";
  CHECK(ir::printGraph(importOk(dropout(7))) == expected);

  ModelBuilder test6 = dropout(6);
  test::setInt(*test6.graph().mutable_node(0), "is_test", 1);
  CHECK(ir::printGraph(importOk(test6)) == expected);
  CHECK_THAT(importError(dropout(6)),
             Contains("node 'drop' (Dropout): Dropout in training mode is not "
                      "supported (Dropout-6 with is_test=0)"));

  ModelBuilder is7 = dropout(7);
  test::setInt(*is7.graph().mutable_node(0), "is_test", 1);
  CHECK_THAT(importError(is7),
             Contains("node 'drop' (Dropout): unsupported attribute "
                      "'is_test'"));

  // Dropout-7's mask has the data's float type; the IR mask is u8.
  ModelBuilder mask7 = dropout(7);
  mask7.graph().mutable_node(0)->add_output("mask");
  CHECK_THAT(importError(mask7),
             Contains("node 'drop' (Dropout): the mask output of Dropout-7 "
                      "has the data's float type"));
  ModelBuilder mask10 = mask7;
  mask10.model.mutable_opset_import(0)->set_version(10);
  CHECK(importOk(mask10).numNodes() == 1);
}

TEST_CASE("legacy: a training_mode that is not a constant is an error") {
  ModelBuilder b(13);
  b.input("x", {1, 4});
  b.input("t", {}, ::onnx::TensorProto::BOOL);
  b.node("Dropout", {"x", "", "t"}, {"y"}, "drop");
  b.output("y");
  CHECK_THAT(importError(b),
             Contains("node 'drop' (Dropout): training_mode must be a "
                      "constant"));
  // Bound (as the conformance runner does), false imports and true is the
  // documented limitation.
  mo::ImportOptions opts;
  opts.bindInputs["t"] = ir::Tensor(ir::DType::UInt8, {});
  CHECK(mo::importModel(b.bytes(), "l.onnx", opts).ok());
  opts.bindInputs["t"].setFromDouble(0, 1);
  Expected<ir::Graph> g = mo::importModel(b.bytes(), "l.onnx", opts);
  REQUIRE_FALSE(g.ok());
  CHECK_THAT(g.error().message(),
             Contains("Dropout in training mode is not supported"));
}

TEST_CASE("legacy: Clip-6 attributes; Clip-1 is rejected") {
  ModelBuilder b(6);
  b.input("x", {1, 4});
  auto &n = b.node("Clip", {"x"}, {"y"}, "clip");
  test::setFloat(n, "min", -1.0f);
  test::setFloat(n, "max", 1.5f);
  b.output("y");
  CHECK(ir::printGraph(importOk(b)) ==
        "graph test {\n"
        "  input %x: f32[1,4]\n"
        "  init %clip.min: f32[] = [-1]\n"
        "  init %clip.max: f32[] = [1.5]\n"
        "  %y: f32[1,4] = Clip(%x, %clip.min, %clip.max) # clip\n"
        "  output %y\n"
        "}\n");

  ModelBuilder only(6);
  only.input("x", {1, 4});
  test::setFloat(only.node("Clip", {"x"}, {"y"}, "clip"), "max", 6.0f);
  only.output("y");
  CHECK(ir::printGraph(importOk(only)) ==
        "graph test {\n"
        "  input %x: f32[1,4]\n"
        "  init %clip.max: f32[] = [6]\n"
        "  %y: f32[1,4] = Clip(%x, none, %clip.max) # clip\n"
        "  output %y\n"
        "}\n");

  ModelBuilder v1 = b;
  v1.model.mutable_opset_import(0)->set_version(5);
  CHECK_THAT(importError(v1), Contains("node 'clip' (Clip): Clip-1 (the "
                                       "version at ai.onnx opset 5) is not "
                                       "supported"));
}

TEST_CASE("legacy: opset 1 to 5 import the op versions without "
          "consumed_inputs") {
  // GlobalAveragePool-1 and Concat-1 (axis defaults to 1) at opset 1.
  ModelBuilder b(1);
  b.input("x", {1, 2, 3, 3});
  b.node("GlobalAveragePool", {"x"}, {"g"}, "gap");
  b.node("Concat", {"g", "g"}, {"y"}, "cat");
  b.output("y");
  CHECK(ir::printGraph(importOk(b)) ==
        "graph test {\n"
        "  input %x: f32[1,2,3,3]\n"
        "  %g: f32[1,2,1,1] = GlobalAveragePool(%x) # gap\n"
        "  %y: f32[1,4,1,1] = Concat(%g, %g) {axis=1} # cat\n"
        "  output %y\n"
        "}\n");

  ModelBuilder relu(1);
  relu.input("x", {1, 4});
  relu.node("Relu", {"x"}, {"y"});
  relu.output("y");
  CHECK_THAT(importError(relu),
             Contains("node 'Relu_0' (Relu): Relu-1 (the version at ai.onnx "
                      "opset 1) is not supported: its consumed_inputs "
                      "(in-place) form has no IR equivalent; Relu is "
                      "supported from opset 6"));

  ModelBuilder pad(1);
  pad.input("x", {1, 1, 2, 2});
  test::setInts(pad.node("Pad", {"x"}, {"y"}, "pad"), "paddings",
                {0, 0, 1, 1, 0, 0, 1, 1});
  pad.output("y");
  CHECK_THAT(importError(pad), Contains("node 'pad' (Pad): Pad-1 (attribute "
                                        "'paddings') is not supported"));

  // An op that does not exist yet at the model's opset.
  ModelBuilder quant(9);
  quant.input("x", {1, 4});
  quant.initializer("s", {}, {0.5f});
  quant.node("QuantizeLinear", {"x", "s"}, {"y"}, "q");
  quant.output("y");
  CHECK_THAT(importError(quant),
             Contains("node 'q' (QuantizeLinear): QuantizeLinear does not "
                      "exist at ai.onnx opset 9"));
}
