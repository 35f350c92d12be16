// Precision::Float64: which values widen, that every float kernel runs in
// double, and the case it exists for (a rounding tie float32 decides).
#include "InterpTestUtil.h"

#include <cmath>

using namespace mars;
using namespace mars::interp::test;
using ir::OpKind;

namespace {

/// x (float32 input) -> Mul by 1 -> QuantizeLinear(1) -> DequantizeLinear(1)
/// -> Add DequantizeLinear(1 at scale 2^-25) -> QuantizeLinear(2) -> y.
/// Exactly: (1 + 2^-25) / 2 = 0.5 + 2^-26 rounds to 1. In float32 the sum
/// rounds to 1.0f first, 0.5 is a tie, and half to even gives 0.
ir::Graph tieGraph(bool inputReadAfterQuantization = false) {
  ir::Graph g;
  g.name = "tie";
  auto f32Const = [&](const std::string &name, float v) {
    return g.addInitializer(name, f32({}, {v}));
  };
  const ir::ValueId x = g.addValue("x", f32Type({1}));
  g.inputs.push_back(x);
  const ir::ValueId one = f32Const("one", 1.0f);
  const ir::ValueId zp = g.addInitializer("zp", typed(DType::Int8, {}, {0}));
  const ir::ValueId xs = g.addValue("xs", f32Type({1}));
  g.addNode(OpKind::Mul, "normalise", {x, one}, {xs});
  const ir::ValueId xq = g.addValue("xq", type(DType::Int8, {1}));
  g.addNode(OpKind::QuantizeLinear, "q_in", {xs, one, zp}, {xq});
  const ir::ValueId a = g.addValue("a", f32Type({1}));
  g.addNode(OpKind::DequantizeLinear, "dq_in", {xq, one, zp}, {a});
  const ir::ValueId bq = g.addInitializer("bq", typed(DType::Int8, {1}, {1}));
  const ir::ValueId b = g.addValue("b", f32Type({1}));
  g.addNode(OpKind::DequantizeLinear, "dq_b",
            {bq, f32Const("tiny", std::ldexp(1.0f, -25)), zp}, {b});
  const ir::ValueId sum = g.addValue("sum", f32Type({1}));
  g.addNode(OpKind::Add, "add", {a, inputReadAfterQuantization ? x : b}, {sum});
  const ir::ValueId y = g.addValue("y", type(DType::Int8, {1}));
  g.addNode(OpKind::QuantizeLinear, "q_out", {sum, f32Const("two", 2.0f), zp},
            {y});
  g.outputs.push_back(y);
  return g;
}

} // namespace

TEST_CASE("Float64 rounds a near-tie as the exact value does; float32 "
          "does not") {
  const ir::Graph g = tieGraph();
  const std::vector<Tensor> x{f32({1}, {1.0f})};
  auto narrow = interp::run(g, x, interp::Precision::Float32);
  auto wide = interp::run(g, x, interp::Precision::Float64);
  REQUIRE(narrow.ok());
  REQUIRE(wide.ok());
  CHECK(values((*narrow)[0]) == std::vector<double>{0});
  CHECK(values((*wide)[0]) == std::vector<double>{1});
}

TEST_CASE("widenedToFloat64 keeps the input's preprocessing in float32 and "
          "widens what follows its quantization") {
  const ir::Graph g = tieGraph();
  auto wide = interp::widenedToFloat64(g);
  REQUIRE(wide.ok());
  auto dtypeOf = [&](const std::string &name) {
    auto id = wide->findValue(name);
    REQUIRE(id);
    return wide->value(*id).type.dtype;
  };
  // The contract quantizes the input from float32 values.
  CHECK(dtypeOf("x") == DType::Float32);
  CHECK(dtypeOf("xs") == DType::Float32);
  CHECK(dtypeOf("a") == DType::Float64);
  CHECK(dtypeOf("b") == DType::Float64);
  CHECK(dtypeOf("sum") == DType::Float64);
  CHECK(dtypeOf("y") == DType::Int8);
  // "one" is read as a float32 scale before the input's quantization and
  // as a float64 scale after it: the widened graph holds both.
  for (const ir::Node &node : wide->nodes()) {
    INFO(node.name);
    const ir::DType scale = wide->value(node.inputs[1]).type.dtype;
    const bool preprocessing = node.name == "normalise" || node.name == "q_in";
    CHECK(scale == (preprocessing ? DType::Float32 : DType::Float64));
  }
  CHECK(interp::inputsFor(*wide, {f32({1}, {1.0f})})[0].dtype() ==
        DType::Float32);
}

TEST_CASE("widenedToFloat64 refuses a value read both before and after "
          "quantization") {
  auto wide = interp::widenedToFloat64(tieGraph(/*inputRead...=*/true));
  REQUIRE_FALSE(wide.ok());
  CHECK_THAT(wide.error().message(),
             Catch::Contains("value 'x' is read both in the float32 input "
                             "preprocessing and after quantization"));
}

TEST_CASE("A float model widens entirely, and every float kernel computes "
          "in double") {
  const ir::AttributeMap noAttrs;
  struct Case {
    const char *name;
    OpKind op;
    std::vector<Operand> operands;
    ir::TensorType out;
    ir::AttributeMap attrs;
  };
  const Tensor x4 =
      f32({1, 2, 2, 2}, {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f});
  const std::vector<Case> cases = {
      {"Conv",
       OpKind::Conv,
       {x4, Operand::constant(f32({1, 2, 1, 1}, {0.3f, -0.7f})),
        Operand::constant(f32({1}, {0.01f}))},
       f32Type({1, 1, 2, 2}),
       noAttrs},
      {"Gemm",
       OpKind::Gemm,
       {f32({1, 3}, {0.1f, 0.2f, 0.3f}),
        Operand::constant(f32({2, 3}, {1, 2, 3, 4, 5, 6})),
        Operand::constant(f32({2}, {0.5f, -0.5f}))},
       f32Type({1, 2}),
       attrs({{"transB", int64_t{1}}})},
      {"MatMul",
       OpKind::MatMul,
       {f32({1, 2}, {0.1f, 0.2f}), f32({2, 1}, {3, 4})},
       f32Type({1, 1}),
       noAttrs},
      {"AveragePool",
       OpKind::AveragePool,
       {x4},
       f32Type({1, 2, 1, 1}),
       attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}})},
      {"GlobalAveragePool",
       OpKind::GlobalAveragePool,
       {x4},
       f32Type({1, 2, 1, 1}),
       noAttrs},
      {"MaxPool",
       OpKind::MaxPool,
       {x4},
       f32Type({1, 2, 1, 1}),
       attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}})},
      {"BatchNormalization",
       OpKind::BatchNormalization,
       {x4, Operand::constant(f32({2}, {1, 2})),
        Operand::constant(f32({2}, {0, 1})),
        Operand::constant(f32({2}, {0.1f, 0.2f})),
        Operand::constant(f32({2}, {1, 4}))},
       f32Type({1, 2, 2, 2}),
       noAttrs},
      {"Softmax",
       OpKind::Softmax,
       {f32({1, 3}, {1, 2, 3})},
       f32Type({1, 3}),
       noAttrs},
      {"LeakyRelu",
       OpKind::LeakyRelu,
       {f32({2}, {-1, 1})},
       f32Type({2}),
       noAttrs},
      {"Clip",
       OpKind::Clip,
       {f32({2}, {-1, 1}), Operand::constant(f32({}, {0})),
        Operand::constant(f32({}, {0.5f}))},
       f32Type({2}),
       noAttrs},
  };
  for (const Case &c : cases) {
    INFO(c.name);
    auto narrow =
        runNode(c.op, c.operands, {c.out}, c.attrs, interp::Precision::Float32);
    auto wide =
        runNode(c.op, c.operands, {c.out}, c.attrs, interp::Precision::Float64);
    INFO((wide ? std::string() : wide.error().message()));
    REQUIRE(narrow.ok());
    REQUIRE(wide.ok());
    CHECK((*wide)[0].dtype() == DType::Float64);
    checkClose((*wide)[0], values((*narrow)[0]), 1e-6);
  }
}
