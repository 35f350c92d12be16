#include "mars/ir/Cost.h"

#include <set>

namespace mars::ir {

namespace {

int64_t outputElements(const Graph &graph, const Node &node) {
  if (node.outputs.empty())
    return 0;
  return graph.value(node.outputs[0]).type.numElements();
}

const Shape &shapeOfInput(const Graph &graph, const Node &node, size_t i) {
  static const Shape empty;
  ValueId id = node.input(i);
  return id == kNoValue ? empty : graph.value(id).type.shape;
}

/// MACs of the op kinds that multiply-accumulate.
int64_t macs(const Graph &graph, const Node &node) {
  switch (node.op) {
  case OpKind::Conv: {
    // Each output element sums (Cin/group)·kh·kw products: the weight is
    // [Cout, Cin/group, kh, kw].
    const Shape &w = shapeOfInput(graph, node, 1);
    if (w.size() < 3)
      return 0;
    int64_t perOutput = 1;
    for (size_t i = 1; i < w.size(); ++i)
      perOutput *= w[i];
    return outputElements(graph, node) * perOutput;
  }
  case OpKind::Gemm: {
    // Y[M,N] = A'[M,K]·B'[K,N]: M·N·K.
    const Shape &a = shapeOfInput(graph, node, 0);
    if (a.size() != 2)
      return 0;
    int64_t k = node.attrs.getInt("transA", 0) ? a[0] : a[1];
    return outputElements(graph, node) * k;
  }
  case OpKind::MatMul: {
    // numpy matmul: every output element is a dot product over A's last dim.
    const Shape &a = shapeOfInput(graph, node, 0);
    if (a.empty())
      return 0;
    return outputElements(graph, node) * a.back();
  }
  default: return 0;
  }
}

int64_t otherOps(const Graph &graph, const Node &node) {
  switch (node.op) {
  case OpKind::BatchNormalization:
  case OpKind::Relu:
  case OpKind::LeakyRelu:
  case OpKind::Clip:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Softmax:
  case OpKind::QuantizeLinear:
  case OpKind::DequantizeLinear: return outputElements(graph, node);
  case OpKind::MaxPool:
  case OpKind::AveragePool: {
    int64_t window = 1;
    for (int64_t k : node.attrs.getInts("kernel_shape", {}))
      window *= k;
    return outputElements(graph, node) * window;
  }
  case OpKind::GlobalAveragePool:
    return numElements(shapeOfInput(graph, node, 0));
  default: return 0;
  }
}

int64_t storageBytes(const Value &value) {
  return (value.type.numElements() * elementBits(value.type) + 7) / 8;
}

} // namespace

bool isParameter(const Value &value) {
  return value.isConstant() && value.type.dtype != DType::Int64;
}

int elementBits(const TensorType &type) {
  if (type.quant)
    return type.quant->bits;
  return static_cast<int>(dtypeSize(type.dtype) * 8);
}

NodeCost nodeCost(const Graph &graph, NodeId id) {
  const Node &node = graph.node(id);
  NodeCost cost;
  cost.macs = macs(graph, node);
  cost.otherOps = otherOps(graph, node);
  for (ValueId in : node.inputs) {
    if (in == kNoValue || !isParameter(graph.value(in)))
      continue;
    cost.params += graph.value(in).type.numElements();
    cost.paramBytes += storageBytes(graph.value(in));
  }
  return cost;
}

GraphCost graphCost(const Graph &graph) {
  GraphCost total;
  std::set<ValueId> counted;
  for (size_t i = 0; i < graph.numNodes(); ++i) {
    NodeCost c = nodeCost(graph, static_cast<NodeId>(i));
    total.nodes.push_back(c);
    total.macs += c.macs;
    total.otherOps += c.otherOps;
    for (ValueId in : graph.node(static_cast<NodeId>(i)).inputs) {
      if (in == kNoValue || !isParameter(graph.value(in)) ||
          !counted.insert(in).second)
        continue;
      total.params += graph.value(in).type.numElements();
      total.paramBytes += storageBytes(graph.value(in));
    }
  }
  return total;
}

} // namespace mars::ir
