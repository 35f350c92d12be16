// ir::inferNodeTypes / inferShapes on hand-built graphs, including failures.
#include "mars/ir/ShapeInference.h"

#include <catch2/catch.hpp>

using namespace mars::ir;
using mars::Status;

namespace {
TensorType f32(Shape s) { return TensorType{DType::Float32, std::move(s), {}}; }

/// One node of kind `op` over fresh inputs of the given types.
struct OneNode {
  Graph g;
  NodeId node = 0;
  OneNode(OpKind op, std::vector<TensorType> ins, AttributeMap attrs = {},
          std::vector<const Tensor *> constants = {}) {
    std::vector<ValueId> ids;
    for (size_t i = 0; i < ins.size(); ++i) {
      const Tensor *c = i < constants.size() ? constants[i] : nullptr;
      std::string name = "in" + std::to_string(i);
      ids.push_back(c ? g.addInitializer(name, *c) : g.addValue(name, ins[i]));
      if (!c)
        g.inputs.push_back(ids.back());
    }
    ValueId out = g.addValue("out", {});
    node = g.addNode(op, "n", ids, {out}, std::move(attrs));
    g.outputs.push_back(out);
  }
  Status run() { return inferShapes(g); }
  const TensorType &out() const { return g.value(g.outputs[0]).type; }
};

AttributeMap pool(std::vector<int64_t> k, std::vector<int64_t> s,
                  std::vector<int64_t> pads, int64_t ceil) {
  AttributeMap a;
  a.set("kernel_shape", k);
  a.set("strides", s);
  a.set("pads", pads);
  a.set("ceil_mode", ceil);
  return a;
}

std::string failure(OneNode &n) {
  Status s = n.run();
  REQUIRE_FALSE(s.ok());
  return s.error().message();
}
} // namespace

TEST_CASE("shape inference: pooling floor, ceil and the last-window rule") {
  OneNode floorMode(OpKind::MaxPool, {f32({1, 1, 5, 5})},
                    pool({2, 2}, {2, 2}, {0, 0, 0, 0}, 0));
  REQUIRE(floorMode.run().ok());
  CHECK(floorMode.out().shape == Shape{1, 1, 2, 2});

  OneNode ceilMode(OpKind::MaxPool, {f32({1, 1, 5, 5})},
                   pool({2, 2}, {2, 2}, {0, 0, 0, 0}, 1));
  REQUIRE(ceilMode.run().ok());
  CHECK(ceilMode.out().shape == Shape{1, 1, 3, 3});

  // Padded extent 7, ceil gives 4 windows, but the 4th would start at 6,
  // inside the right padding only: ONNX drops it.
  OneNode lastWindow(OpKind::AveragePool, {f32({1, 1, 5, 5})},
                     pool({2, 2}, {2, 2}, {1, 1, 1, 1}, 1));
  REQUIRE(lastWindow.run().ok());
  CHECK(lastWindow.out().shape == Shape{1, 1, 3, 3});

  AttributeMap dilated = pool({2, 2}, {1, 1}, {0, 0, 0, 0}, 0);
  dilated.set("dilations", std::vector<int64_t>{2, 2});
  OneNode dil(OpKind::MaxPool, {f32({1, 1, 5, 5})}, dilated);
  REQUIRE(dil.run().ok());
  CHECK(dil.out().shape == Shape{1, 1, 3, 3});

  OneNode tooBig(OpKind::MaxPool, {f32({1, 1, 2, 2})},
                 pool({4, 4}, {1, 1}, {0, 0, 0, 0}, 0));
  CHECK_THAT(failure(tooBig),
             Catch::Contains("node 'n' (MaxPool): window of extent 4 is "
                             "larger than the padded input (2)"));
}

TEST_CASE("shape inference: Conv channels and groups") {
  AttributeMap a;
  a.set("group", int64_t{2});
  OneNode ok(OpKind::Conv, {f32({1, 4, 8, 8}), f32({6, 2, 3, 3})}, a);
  REQUIRE(ok.run().ok());
  CHECK(ok.out().shape == Shape{1, 6, 6, 6});

  a.set("group", int64_t{3});
  OneNode badGroup(OpKind::Conv, {f32({1, 4, 8, 8}), f32({6, 2, 3, 3})}, a);
  CHECK_THAT(failure(badGroup),
             Catch::Contains("node 'n' (Conv): group=3 does not divide 4 "
                             "input channels"));

  OneNode badChannels(OpKind::Conv, {f32({1, 3, 8, 8}), f32({6, 2, 3, 3})});
  CHECK_THAT(failure(badChannels), Catch::Contains("expects 2 input channels"));

  OneNode oneD(OpKind::Conv, {f32({1, 3, 8}), f32({6, 3, 3})});
  CHECK_THAT(failure(oneD),
             Catch::Contains("only 2-D (N, C, H, W) convolution is supported, "
                             "got rank-3 input"));
}

TEST_CASE("shape inference: matrix products") {
  OneNode gemm(OpKind::Gemm, {f32({2, 120}), f32({84, 120})}, [] {
    AttributeMap a;
    a.set("transB", int64_t{1});
    return a;
  }());
  REQUIRE(gemm.run().ok());
  CHECK(gemm.out().shape == Shape{2, 84});

  OneNode badGemm(OpKind::Gemm, {f32({2, 120}), f32({84, 10})});
  CHECK_THAT(failure(badGemm),
             Catch::Contains("node 'n' (Gemm): inner dimensions 120 and 84 "
                             "differ"));

  OneNode batched(OpKind::MatMul, {f32({2, 1, 3, 4}), f32({5, 4, 6})});
  REQUIRE(batched.run().ok());
  CHECK(batched.out().shape == Shape{2, 5, 3, 6});
  OneNode vecMat(OpKind::MatMul, {f32({4}), f32({3, 4, 6})});
  REQUIRE(vecMat.run().ok());
  CHECK(vecMat.out().shape == Shape{3, 6});
  OneNode matVec(OpKind::MatMul, {f32({3, 4}), f32({4})});
  REQUIRE(matVec.run().ok());
  CHECK(matVec.out().shape == Shape{3});
  OneNode badMatMul(OpKind::MatMul, {f32({3, 4}), f32({5, 6})});
  CHECK_THAT(failure(badMatMul), Catch::Contains("inner dimensions 4 and 5"));
}

TEST_CASE("shape inference: broadcasting, concat, reshape, flatten") {
  OneNode add(OpKind::Add, {f32({2, 1, 4}), f32({3, 1})});
  REQUIRE(add.run().ok());
  CHECK(add.out().shape == Shape{2, 3, 4});
  OneNode badAdd(OpKind::Mul, {f32({2, 3}), f32({4})});
  CHECK_THAT(failure(badAdd), Catch::Contains("node 'n' (Mul): shapes [2,3] "
                                              "and [4] are not broadcastable"));

  AttributeMap axis1;
  axis1.set("axis", int64_t{1});
  OneNode concat(OpKind::Concat, {f32({1, 2, 3}), f32({1, 5, 3})}, axis1);
  REQUIRE(concat.run().ok());
  CHECK(concat.out().shape == Shape{1, 7, 3});
  OneNode badConcat(OpKind::Concat, {f32({1, 2, 3}), f32({1, 5, 4})}, axis1);
  CHECK_THAT(failure(badConcat), Catch::Contains("input 1 has shape [1,5,4]"));

  Tensor shape = Tensor::fromInt64s({3}, {0, -1, 2});
  OneNode reshape(OpKind::Reshape, {f32({2, 3, 4}), shape.type()}, {},
                  {nullptr, &shape});
  REQUIRE(reshape.run().ok());
  CHECK(reshape.out().shape == Shape{2, 6, 2});
  Tensor wrong = Tensor::fromInt64s({2}, {5, 5});
  OneNode badReshape(OpKind::Reshape, {f32({2, 3, 4}), wrong.type()}, {},
                     {nullptr, &wrong});
  CHECK_THAT(failure(badReshape),
             Catch::Contains("cannot reshape [2,3,4] (24 elements) into "
                             "[5,5]"));

  OneNode flatten(OpKind::Flatten, {f32({2, 3, 4})}, axis1);
  REQUIRE(flatten.run().ok());
  CHECK(flatten.out().shape == Shape{2, 12});
}

TEST_CASE("shape inference: sizes, dtypes and kept quantization") {
  Tensor pads = Tensor::fromInt64s({4}, {0, 0, -2, 0});
  OneNode zero(OpKind::Pad, {f32({2, 2}), pads.type()}, {}, {nullptr, &pads});
  CHECK_THAT(failure(zero), Catch::Contains("non-positive dimension [0,2]"));

  Tensor big = Tensor::fromInt64s({2}, {0, 1 << 20});
  OneNode absurd(OpKind::Reshape, {f32({1 << 12, 1 << 12}), big.type()}, {},
                 {nullptr, &big});
  // 2^24 elements cannot become [4096, 2^20]; element counts never overflow.
  CHECK_THAT(failure(absurd), Catch::Contains("cannot reshape"));

  Tensor bigPads = Tensor::fromInt64s({4}, {0, 0, 70000, 70000});
  OneNode huge(OpKind::Pad, {f32({1, 1}), bigPads.type()}, {},
               {nullptr, &bigPads});
  CHECK_THAT(failure(huge), Catch::Contains("absurd size [70001,70001]"));

  Tensor zp(DType::Int8, {});
  Tensor scale = Tensor::fromFloats({}, {0.5f});
  OneNode q(OpKind::QuantizeLinear, {f32({1, 4}), scale.type(), zp.type()}, {},
            {nullptr, &scale, &zp});
  QuantParams kept{8, {0.5f}, {0}, -1};
  q.g.value(q.g.outputs[0]).type.quant = kept;
  REQUIRE(q.run().ok());
  CHECK(q.out().dtype == DType::Int8);
  CHECK(q.out().quant == kept);

  OneNode dq(OpKind::DequantizeLinear,
             {TensorType{DType::UInt8, {1, 4}, {}}, scale.type()}, {},
             {nullptr, &scale});
  REQUIRE(dq.run().ok());
  CHECK(dq.out().dtype == DType::Float32);
}
