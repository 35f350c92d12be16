#pragma once
/// \file
/// Helpers for the interpreter tests: tensors from literals and a one-node
/// graph runner.

#include "mars/interp/Interpreter.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <optional>
#include <vector>

namespace mars::interp::test {

using ir::DType;
using ir::Shape;
using ir::Tensor;

inline Tensor f32(Shape shape, const std::vector<float> &values) {
  return Tensor::fromFloats(std::move(shape), values);
}

inline Tensor i64(Shape shape, const std::vector<int64_t> &values) {
  return Tensor::fromInt64s(std::move(shape), values);
}

/// A tensor of any dtype from values converted as setFromDouble does.
inline Tensor typed(DType dtype, Shape shape,
                    const std::vector<double> &values) {
  Tensor t(dtype, std::move(shape));
  REQUIRE(static_cast<int64_t>(values.size()) == t.numElements());
  for (size_t i = 0; i < values.size(); ++i)
    t.setFromDouble(static_cast<int64_t>(i), values[i]);
  return t;
}

/// An operand of a one-node graph: a runtime input, a constant, or absent.
struct Operand {
  enum Kind { Input, Constant, Absent } kind = Input;
  Tensor tensor;
  Operand(Tensor t) : tensor(std::move(t)) {}
  static Operand constant(Tensor t) {
    Operand o(std::move(t));
    o.kind = Constant;
    return o;
  }
  static Operand absent() {
    Operand o(Tensor{});
    o.kind = Absent;
    return o;
  }
};

/// Builds a graph of one `op` node over `operands` whose outputs have the
/// given types, and runs it at `precision`.
inline Expected<std::vector<Tensor>>
runNode(ir::OpKind op, std::vector<Operand> operands,
        std::vector<ir::TensorType> outputTypes, ir::AttributeMap attrs = {},
        Precision precision = Precision::Float32) {
  ir::Graph g;
  g.name = "one";
  std::vector<ir::ValueId> ins, outs;
  std::vector<Tensor> feeds;
  for (size_t i = 0; i < operands.size(); ++i) {
    const std::string name = "in" + std::to_string(i);
    switch (operands[i].kind) {
    case Operand::Absent: ins.push_back(ir::kNoValue); break;
    case Operand::Constant:
      ins.push_back(g.addInitializer(name, operands[i].tensor));
      break;
    case Operand::Input:
      ins.push_back(g.addValue(name, operands[i].tensor.type()));
      g.inputs.push_back(ins.back());
      feeds.push_back(operands[i].tensor);
      break;
    }
  }
  for (size_t i = 0; i < outputTypes.size(); ++i) {
    outs.push_back(g.addValue("out" + std::to_string(i), outputTypes[i]));
    g.outputs.push_back(outs.back());
  }
  g.addNode(op, "n", ins, outs, std::move(attrs));
  return run(g, feeds, precision);
}

/// runNode for a single output, requiring success.
inline Tensor runOne(ir::OpKind op, std::vector<Operand> operands,
                     ir::TensorType outputType, ir::AttributeMap attrs = {}) {
  auto result = runNode(op, std::move(operands), {std::move(outputType)},
                        std::move(attrs));
  INFO((result ? std::string() : result.error().message()));
  REQUIRE(result.ok());
  return (*result)[0];
}

inline ir::TensorType type(DType dtype, Shape shape) {
  return ir::TensorType{dtype, std::move(shape), std::nullopt};
}
inline ir::TensorType f32Type(Shape shape) {
  return type(DType::Float32, std::move(shape));
}

/// All elements as doubles, for comparisons with literals.
inline std::vector<double> values(const Tensor &t) {
  std::vector<double> out;
  for (int64_t i = 0; i < t.numElements(); ++i)
    out.push_back(t.getAsDouble(i));
  return out;
}

/// Elementwise approximate comparison.
inline void checkClose(const Tensor &actual,
                       const std::vector<double> &expected,
                       double tolerance = 1e-5) {
  REQUIRE(actual.numElements() == static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(actual.getAsDouble(static_cast<int64_t>(i)) ==
          Approx(expected[i]).margin(tolerance));
  }
}

inline ir::AttributeMap
attrs(std::initializer_list<std::pair<const char *, ir::Attribute>> entries) {
  ir::AttributeMap map;
  for (const auto &e : entries)
    map.set(e.first, e.second);
  return map;
}

} // namespace mars::interp::test
