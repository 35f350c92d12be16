#include "mars/ir/Cost.h"

#include <catch2/catch.hpp>

using namespace mars::ir;

namespace {
TensorType f32(Shape s) { return TensorType{DType::Float32, std::move(s), {}}; }

Tensor ones(Shape s) {
  Tensor t(DType::Float32, s);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setFromDouble(i, 1.0);
  return t;
}
} // namespace

TEST_CASE("cost: Conv MACs use Cin/group and the output size") {
  Graph g;
  ValueId x = g.addValue("x", f32({2, 8, 10, 10}));
  g.inputs.push_back(x);
  // Grouped conv: 8 in, 16 out, group 4, 3x3, output 2x16x8x8.
  ValueId w = g.addInitializer("w", ones({16, 2, 3, 3}));
  ValueId b = g.addInitializer("b", ones({16}));
  ValueId y = g.addValue("y", f32({2, 16, 8, 8}));
  AttributeMap attrs;
  attrs.set("group", int64_t{4});
  attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  g.addNode(OpKind::Conv, "conv", {x, w, b}, {y}, attrs);
  NodeCost c = nodeCost(g, 0);
  CHECK(c.macs == 2 * 16 * 8 * 8 * 2 * 3 * 3);
  CHECK(c.params == 16 * 2 * 3 * 3 + 16);
  CHECK(c.paramBytes == 4 * c.params);
}

TEST_CASE("cost: Gemm, MatMul, elementwise ops and shared constants") {
  Graph g;
  ValueId a = g.addValue("a", f32({5, 3}));
  g.inputs.push_back(a);
  // Gemm with transA: A is [K=5, M=3], B [5, 4] -> Y [3, 4], K = 5.
  ValueId w = g.addInitializer("w", ones({5, 4}));
  ValueId y = g.addValue("y", f32({3, 4}));
  AttributeMap attrs;
  attrs.set("transA", int64_t{1});
  g.addNode(OpKind::Gemm, "gemm", {a, w}, {y}, attrs);
  // MatMul [3,4] x [4,4] -> [3,4]: 3*4*4 MACs.
  ValueId m = g.addInitializer("m", ones({4, 4}));
  ValueId z = g.addValue("z", f32({3, 4}));
  g.addNode(OpKind::MatMul, "matmul", {y, m}, {z});
  // Add reads the same constant twice through another node: counted once.
  ValueId s = g.addValue("s", f32({3, 4}));
  g.addNode(OpKind::MatMul, "matmul2", {z, m}, {s});
  // Reshape's int64 shape is an operand, not a parameter.
  ValueId shape = g.addInitializer("shape", Tensor::fromInt64s({1}, {12}));
  ValueId r = g.addValue("r", f32({12}));
  g.addNode(OpKind::Reshape, "reshape", {s, shape}, {r});
  ValueId q = g.addValue("q", f32({12}));
  g.addNode(OpKind::Relu, "relu", {r}, {q});
  g.outputs.push_back(q);

  GraphCost cost = graphCost(g);
  CHECK(cost.nodes[0].macs == 3 * 4 * 5);
  CHECK(cost.nodes[1].macs == 3 * 4 * 4);
  CHECK(cost.nodes[3].params == 0);
  CHECK(cost.nodes[4].macs == 0);
  CHECK(cost.nodes[4].otherOps == 12);
  CHECK(cost.macs == 60 + 48 + 48);
  CHECK(cost.params == 20 + 16);
}

TEST_CASE("cost: quantized parameters are stored in their bits") {
  Graph g;
  ValueId x = g.addValue("x", f32({1, 3}));
  g.inputs.push_back(x);
  Tensor w = ones({5, 3});
  w.type().quant = QuantParams{4, {0.1f}, {0}, -1};
  ValueId wid = g.addInitializer("w", w);
  ValueId y = g.addValue("y", f32({1, 5}));
  AttributeMap attrs;
  attrs.set("transB", int64_t{1});
  g.addNode(OpKind::Gemm, "fc", {x, wid}, {y}, attrs);
  NodeCost c = nodeCost(g, 0);
  CHECK(c.params == 15);
  CHECK(c.paramBytes == 8); // 15 * 4 bits = 60 bits, rounded up
  CHECK(elementBits(g.value(wid).type) == 4);
}
