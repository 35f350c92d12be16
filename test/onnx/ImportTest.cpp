// Golden IR text for small models built as ModelProtos.
#include "ModelBuilder.h"

#include "mars/ir/Printer.h"
#include "mars/onnx/Import.h"

#include <catch2/catch.hpp>

namespace ir = mars::ir;
namespace mo = mars::onnx;
namespace test = mars::test;
using mars::Expected;
using mars::test::ModelBuilder;

namespace {
ir::Graph importOk(const ModelBuilder &b, const mo::ImportOptions &opts = {}) {
  Expected<ir::Graph> g = mo::importModel(b.bytes(), "t.onnx", opts);
  INFO((g ? std::string() : g.error().message()));
  REQUIRE(g.ok());
  return g.take();
}
} // namespace

TEST_CASE("import: small CNN prints golden IR") {
  ModelBuilder b(13, "tiny_cnn");
  b.input("x", {-1, 1, 8, 8});
  b.initializer("w", {4, 1, 3, 3}, std::vector<float>(36, 0.1f));
  b.initializer("b", {4}, {0, 1, 2, 3});
  b.initializer("fc.w", {10, 64}, std::vector<float>(640, 0.01f));
  b.initializer("fc.b", {10}, std::vector<float>(10, 0.f));
  auto &c = b.node("Conv", {"x", "w", "b"}, {"c"}, "conv1");
  test::setInts(c, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"r"}, "relu1");
  auto &p = b.node("MaxPool", {"r"}, {"p"}, "pool1");
  test::setInts(p, "kernel_shape", {2, 2});
  test::setInts(p, "strides", {2, 2});
  b.node("Flatten", {"p"}, {"f"}); // unnamed: gets "Flatten_3"
  auto &fc = b.node("Gemm", {"f", "fc.w", "fc.b"}, {"y"}, "fc");
  test::setInt(fc, "transB", 1);
  b.output("y");
  mo::ImportOptions opts;
  opts.batchSize = 2;
  ir::Graph g = importOk(b, opts);
  const char *expected =
      "graph tiny_cnn {\n"
      "  input %x: f32[2,1,8,8]\n"
      "  init %w: f32[4,1,3,3]\n"
      "  init %b: f32[4] = [0,1,2,3]\n"
      "  init %fc.w: f32[10,64]\n"
      "  init %fc.b: f32[10]\n"
      "  %c: f32[2,4,8,8] = Conv(%x, %w, %b) {dilations=[1,1], group=1, "
      "kernel_shape=[3,3], pads=[1,1,1,1], strides=[1,1]} # conv1\n"
      "  %r: f32[2,4,8,8] = Relu(%c) # relu1\n"
      "  %p: f32[2,4,4,4] = MaxPool(%r) {ceil_mode=0, dilations=[1,1], "
      "kernel_shape=[2,2], pads=[0,0,0,0], storage_order=0, strides=[2,2]} "
      "# pool1\n"
      "  %f: f32[2,64] = Flatten(%p) {axis=1} # Flatten_3\n"
      "  %y: f32[2,10] = Gemm(%f, %fc.w, %fc.b) {alpha=1, beta=1, transA=0, "
      "transB=1} # fc\n"
      "  output %y\n"
      "}\n";
  CHECK(ir::printGraph(g) == expected);
}

TEST_CASE("import: values are ordered inputs, initializers, node outputs") {
  // Nodes listed out of order, an initializer also listed as an input (old
  // ONNX style), and a Constant node.
  ModelBuilder b(11, "order");
  b.input("x", {1, 4});
  b.input("k", {1, 4});
  b.initializer("k", {1, 4}, {1, 2, 3, 4});
  b.node("Relu", {"s"}, {"y"}, "relu");
  b.node("Add", {"x", "k"}, {"a"}, "add");
  b.node("Mul", {"a", "two"}, {"s"}, "mul");
  auto &k = b.node("Constant", {}, {"two"}, "const");
  auto *attr = k.add_attribute();
  attr->set_name("value_float");
  attr->set_type(::onnx::AttributeProto::FLOAT);
  attr->set_f(2.0f);
  b.output("y");
  ir::Graph g = importOk(b);
  const char *expected = "graph order {\n"
                         "  input %x: f32[1,4]\n"
                         "  init %k: f32[1,4] = [1,2,3,4]\n"
                         "  init %two: f32[] = [2]\n"
                         "  %a: f32[1,4] = Add(%x, %k) # add\n"
                         "  %s: f32[1,4] = Mul(%a, %two) # mul\n"
                         "  %y: f32[1,4] = Relu(%s) # relu\n"
                         "  output %y\n"
                         "}\n";
  CHECK(ir::printGraph(g) == expected);
  CHECK(g.inputs.size() == 1);
}
