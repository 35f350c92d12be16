// Canonicalisation: auto_pad, legacy Clip/Pad/Softmax/Dropout/BN forms,
// Constant nodes and quantization ops become the one IR form of Ops.def.
#include "ModelBuilder.h"

#include "mars/ir/Printer.h"
#include "mars/onnx/Import.h"

#include <catch2/catch.hpp>

namespace ir = mars::ir;
namespace mo = mars::onnx;
namespace test = mars::test;
using mars::Expected;
using test::ModelBuilder;

namespace {
ir::Graph importOk(const ModelBuilder &b) {
  Expected<ir::Graph> g = mo::importModel(b.bytes(), "c.onnx");
  INFO((g ? std::string() : g.error().message()));
  REQUIRE(g.ok());
  return g.take();
}

std::string importError(const ModelBuilder &b) {
  Expected<ir::Graph> g = mo::importModel(b.bytes(), "c.onnx");
  REQUIRE_FALSE(g.ok());
  return g.error().message();
}

const ir::Node &onlyNode(const ir::Graph &g, ir::OpKind op) {
  for (const ir::Node &n : g.nodes())
    if (n.op == op)
      return n;
  FAIL("no such node");
  return g.nodes().front();
}

/// Conv 1x1x7x7 * 1x1x2x2, stride 2, with the given auto_pad.
ModelBuilder convAutoPad(const std::string &autoPad) {
  ModelBuilder b(17);
  b.input("x", {1, 1, 7, 7});
  b.initializer("w", {1, 1, 2, 2}, {1, 1, 1, 1});
  auto &n = b.node("Conv", {"x", "w"}, {"y"}, "conv");
  test::setInts(n, "strides", {2, 2});
  test::setString(n, "auto_pad", autoPad);
  b.output("y");
  return b;
}
} // namespace

TEST_CASE("canonicalize: auto_pad becomes explicit pads") {
  struct Case {
    const char *autoPad;
    std::vector<int64_t> pads;
    int64_t out;
  };
  for (const Case &c :
       {Case{"SAME_UPPER", {0, 0, 1, 1}, 4},
        Case{"SAME_LOWER", {1, 1, 0, 0}, 4}, Case{"VALID", {0, 0, 0, 0}, 3},
        Case{"NOTSET", {0, 0, 0, 0}, 3}}) {
    INFO(c.autoPad);
    ir::Graph g = importOk(convAutoPad(c.autoPad));
    const ir::Node &conv = onlyNode(g, ir::OpKind::Conv);
    CHECK(conv.attrs.getInts("pads", {}) == c.pads);
    CHECK(!conv.attrs.has("auto_pad"));
    CHECK(g.value(g.outputs[0]).type.shape == ir::Shape{1, 1, c.out, c.out});
  }
}

TEST_CASE("canonicalize: pool auto_pad and ceil_mode") {
  ModelBuilder b(17);
  b.input("x", {1, 2, 5, 5});
  auto &n = b.node("MaxPool", {"x"}, {"y"}, "pool");
  test::setInts(n, "kernel_shape", {3, 3});
  test::setInts(n, "strides", {2, 2});
  test::setString(n, "auto_pad", "SAME_UPPER");
  b.output("y");
  ir::Graph g = importOk(b);
  const ir::Node &pool = onlyNode(g, ir::OpKind::MaxPool);
  CHECK(pool.attrs.getInts("pads", {}) == std::vector<int64_t>{1, 1, 1, 1});
  CHECK(g.value(g.outputs[0]).type.shape == ir::Shape{1, 2, 3, 3});
}

TEST_CASE("canonicalize: Clip-6 attributes become constant inputs") {
  ModelBuilder b(9);
  b.input("x", {1, 4});
  auto &n = b.node("Clip", {"x"}, {"y"}, "clip");
  test::setFloat(n, "min", 0.0f);
  test::setFloat(n, "max", 6.0f);
  b.output("y");
  CHECK(ir::printGraph(importOk(b)) ==
        "graph test {\n"
        "  input %x: f32[1,4]\n"
        "  init %clip.min: f32[] = [0]\n"
        "  init %clip.max: f32[] = [6]\n"
        "  %y: f32[1,4] = Clip(%x, %clip.min, %clip.max) # clip\n"
        "  output %y\n"
        "}\n");
}

TEST_CASE("canonicalize: Clip-11 inputs are kept") {
  ModelBuilder b(11);
  b.input("x", {1, 4});
  b.initializer("lo", {}, {-1.0f});
  b.node("Clip", {"x", "lo"}, {"y"}, "clip");
  b.output("y");
  CHECK(ir::printGraph(importOk(b)) == "graph test {\n"
                                       "  input %x: f32[1,4]\n"
                                       "  init %lo: f32[] = [-1]\n"
                                       "  %y: f32[1,4] = Clip(%x, %lo) # clip\n"
                                       "  output %y\n"
                                       "}\n");
}

TEST_CASE("canonicalize: Pad-2 attributes become constant inputs") {
  ModelBuilder b(10);
  b.input("x", {1, 1, 2, 2});
  auto &n = b.node("Pad", {"x"}, {"y"}, "pad");
  test::setInts(n, "pads", {0, 0, 1, 1, 0, 0, 1, 1});
  test::setFloat(n, "value", 0.5f);
  b.output("y");
  CHECK(ir::printGraph(importOk(b)) ==
        "graph test {\n"
        "  input %x: f32[1,1,2,2]\n"
        "  init %pad.pads: i64[8] = [0,0,1,1,0,0,1,1]\n"
        "  init %pad.value: f32[] = [0.5]\n"
        "  %y: f32[1,1,4,4] = Pad(%x, %pad.pads, %pad.value) "
        "{mode=\"constant\"} # pad\n"
        "  output %y\n"
        "}\n");

  ModelBuilder reflect(10);
  reflect.input("x", {1, 1, 2, 2});
  auto &r = reflect.node("Pad", {"x"}, {"y"}, "pad");
  test::setInts(r, "pads", {0, 0, 1, 1, 0, 0, 1, 1});
  test::setString(r, "mode", "reflect");
  reflect.output("y");
  CHECK_THAT(importError(reflect),
             Catch::Contains("node 'pad' (Pad): only mode 'constant'"));
}

TEST_CASE("canonicalize: legacy Softmax is expanded unless axis is last") {
  ModelBuilder b(11);
  b.input("x", {2, 3, 4});
  auto &n = b.node("Softmax", {"x"}, {"y"}, "sm");
  test::setInt(n, "axis", 1);
  b.output("y");
  CHECK(ir::printGraph(importOk(b)) ==
        "graph test {\n"
        "  input %x: f32[2,3,4]\n"
        "  init %sm.shape: i64[3] = [2,3,4]\n"
        "  %sm.flat: f32[2,12] = Flatten(%x) {axis=1} # sm.flatten\n"
        "  %sm.soft: f32[2,12] = Softmax(%sm.flat) {axis=1} # sm\n"
        "  %y: f32[2,3,4] = Reshape(%sm.soft, %sm.shape) {allowzero=0} # "
        "sm.reshape\n"
        "  output %y\n"
        "}\n");

  ModelBuilder last(11);
  last.input("x", {2, 5});
  last.node("Softmax", {"x"}, {"y"}, "sm");
  last.output("y");
  CHECK(ir::printGraph(importOk(last)) ==
        "graph test {\n"
        "  input %x: f32[2,5]\n"
        "  %y: f32[2,5] = Softmax(%x) {axis=1} # sm\n"
        "  output %y\n"
        "}\n");

  ModelBuilder modern(13);
  modern.input("x", {2, 3, 4});
  modern.node("Softmax", {"x"}, {"y"}, "sm");
  modern.output("y");
  CHECK(
      onlyNode(importOk(modern), ir::OpKind::Softmax).attrs.getInt("axis", 0) ==
      -1);
}

TEST_CASE("canonicalize: ReduceMean over H and W is a global average pool") {
  // keepdims=0 (how PyTorch exports x.mean([2, 3])): pool, then Flatten.
  ModelBuilder flat(13);
  flat.input("x", {1, 3, 4, 5});
  auto &n = flat.node("ReduceMean", {"x"}, {"y"}, "mean");
  test::setInts(n, "axes", {2, 3});
  test::setInt(n, "keepdims", 0);
  flat.output("y");
  CHECK(ir::printGraph(importOk(flat)) ==
        "graph test {\n"
        "  input %x: f32[1,3,4,5]\n"
        "  %mean.pooled: f32[1,3,1,1] = GlobalAveragePool(%x) # mean\n"
        "  %y: f32[1,3] = Flatten(%mean.pooled) {axis=1} # mean.flatten\n"
        "  output %y\n"
        "}\n");

  // keepdims=1 (the default), axes written from the end: the pool alone.
  ModelBuilder kept(11);
  kept.input("x", {2, 3, 4, 4});
  test::setInts(kept.node("ReduceMean", {"x"}, {"y"}, "mean"), "axes",
                {-1, -2});
  kept.output("y");
  CHECK(ir::printGraph(importOk(kept)) ==
        "graph test {\n"
        "  input %x: f32[2,3,4,4]\n"
        "  %y: f32[2,3,1,1] = GlobalAveragePool(%x) # mean\n"
        "  output %y\n"
        "}\n");

  // Any other reduction is refused, naming the node and the axes.
  ModelBuilder channels(13);
  channels.input("x", {1, 3, 4, 4});
  test::setInts(channels.node("ReduceMean", {"x"}, {"y"}, "mean"), "axes", {1});
  channels.output("y");
  CHECK_THAT(importError(channels),
             Catch::Contains("node 'mean' (ReduceMean): only the mean over H "
                             "and W") &&
                 Catch::Contains("got axes [1]"));
  ModelBuilder all(13);
  all.input("x", {1, 3, 4, 4});
  all.node("ReduceMean", {"x"}, {"y"}, "mean");
  all.output("y");
  CHECK_THAT(importError(all), Catch::Contains("got all axes"));
  ModelBuilder rank3(13);
  rank3.input("x", {3, 4, 4});
  test::setInts(rank3.node("ReduceMean", {"x"}, {"y"}, "mean"), "axes", {1, 2});
  rank3.output("y");
  CHECK_THAT(importError(rank3), Catch::Contains("rank-3 input"));
}

TEST_CASE("canonicalize: Constant nodes become initializers") {
  ModelBuilder b(13);
  b.input("x", {2, 6});
  auto &shape = b.node("Constant", {}, {"shape"}, "shape_const");
  auto *a = shape.add_attribute();
  a->set_name("value");
  a->set_type(::onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(::onnx::TensorProto::INT64);
  a->mutable_t()->add_dims(2);
  a->mutable_t()->add_int64_data(3);
  a->mutable_t()->add_int64_data(-1);
  b.node("Reshape", {"x", "shape"}, {"y"}, "reshape");
  b.output("y");
  ir::Graph g = importOk(b);
  CHECK(ir::printGraph(g) ==
        "graph test {\n"
        "  input %x: f32[2,6]\n"
        "  init %shape: i64[2] = [3,-1]\n"
        "  %y: f32[3,4] = Reshape(%x, %shape) {allowzero=0} # reshape\n"
        "  output %y\n"
        "}\n");
  CHECK(g.numNodes() == 1);
}

TEST_CASE("canonicalize: BatchNormalization and Dropout forms") {
  ModelBuilder bn(9);
  bn.input("x", {1, 2, 3, 3});
  for (const char *p : {"s", "bias", "m", "v"})
    bn.initializer(p, {2}, {1, 1});
  auto &n =
      bn.node("BatchNormalization", {"x", "s", "bias", "m", "v"}, {"y"}, "bn");
  test::setInt(n, "spatial", 1);
  test::setFloat(n, "epsilon", 1e-3f);
  bn.output("y");
  CHECK(ir::printGraph(importOk(bn)) ==
        "graph test {\n"
        "  input %x: f32[1,2,3,3]\n"
        "  init %s: f32[2] = [1,1]\n"
        "  init %bias: f32[2] = [1,1]\n"
        "  init %m: f32[2] = [1,1]\n"
        "  init %v: f32[2] = [1,1]\n"
        "  %y: f32[1,2,3,3] = BatchNormalization(%x, %s, %bias, %m, %v) "
        "{epsilon=0.001, momentum=0.9, training_mode=0} # bn\n"
        "  output %y\n"
        "}\n");

  ModelBuilder perActivation = bn;
  perActivation.graph().mutable_node(0)->mutable_attribute(0)->set_i(0);
  CHECK_THAT(importError(perActivation),
             Catch::Contains("node 'bn' (BatchNormalization): spatial=0"));

  ModelBuilder fiveOutputs = bn;
  for (const char *o : {"rm", "rv", "sm", "sv"})
    fiveOutputs.graph().mutable_node(0)->add_output(o);
  CHECK_THAT(importError(fiveOutputs),
             Catch::Contains("node 'bn' (BatchNormalization): "
                             "BatchNormalization with 5 outputs"));

  ModelBuilder dropout(10);
  dropout.input("x", {1, 4});
  auto &d = dropout.node("Dropout", {"x"}, {"y"}, "drop");
  test::setFloat(d, "ratio", 0.3f);
  dropout.output("y");
  CHECK(ir::printGraph(importOk(dropout)) ==
        "graph test {\n"
        "  input %x: f32[1,4]\n"
        "  %y: f32[1,4] = Dropout(%x) # drop\n"
        "  output %y\n"
        "}\n");

  ModelBuilder training(13);
  training.input("x", {1, 4});
  auto *t = training.graph().add_initializer();
  t->set_name("train");
  t->set_data_type(::onnx::TensorProto::BOOL);
  t->add_int32_data(1);
  training.node("Dropout", {"x", "", "train"}, {"y"}, "drop");
  training.output("y");
  CHECK_THAT(importError(training),
             Catch::Contains("node 'drop' (Dropout): Dropout in training mode "
                             "is not supported"));
  training.graph().mutable_initializer(0)->set_int32_data(0, 0);
  CHECK(importOk(training).numNodes() == 1);
}

TEST_CASE("canonicalize: quantization ops, per tensor and per axis") {
  ModelBuilder b(13);
  b.input("x", {1, 3, 2, 2});
  b.initializer("s", {}, {0.5f});
  auto *zp = b.graph().add_initializer();
  zp->set_name("zp");
  zp->set_data_type(::onnx::TensorProto::INT8);
  zp->add_int32_data(-3);
  b.initializer("s3", {3}, {0.1f, 0.2f, 0.3f});
  b.node("QuantizeLinear", {"x", "s", "zp"}, {"q"}, "q");
  b.node("DequantizeLinear", {"q", "s", "zp"}, {"dq"}, "dq");
  b.node("QuantizeLinear", {"dq", "s3"}, {"q3"}, "q3");
  b.output("q3");
  CHECK(ir::printGraph(importOk(b)) ==
        "graph test {\n"
        "  input %x: f32[1,3,2,2]\n"
        "  init %s: f32[] = [0.5]\n"
        "  init %zp: i8[] = [-3]\n"
        "  init %s3: f32[3] = [0.1,0.2,0.3]\n"
        "  %q: i8[1,3,2,2] = QuantizeLinear(%x, %s, %zp) {axis=1} # q\n"
        "  %dq: f32[1,3,2,2] = DequantizeLinear(%q, %s, %zp) {axis=1} # "
        "dq\n"
        "  %q3: u8[1,3,2,2] = QuantizeLinear(%dq, %s3) {axis=1} # q3\n"
        "  output %q3\n"
        "}\n");
}
