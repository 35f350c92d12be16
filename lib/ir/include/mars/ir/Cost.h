#pragma once
/// \file
/// Static cost of nodes and graphs: multiply-accumulates, other arithmetic,
/// and parameters. Requires shapes (inferShapes).

#include "mars/ir/Graph.h"

#include <cstdint>
#include <vector>

namespace mars::ir {

/// The cost of one node.
struct NodeCost {
  /// Multiply-accumulates of Conv, Gemm and MatMul; 0 for other ops.
  int64_t macs = 0;
  /// Other arithmetic, one per output element for elementwise ops and
  /// normalisation, one per window element for pooling; 0 for data movement.
  int64_t otherOps = 0;
  /// Elements of the node's constant inputs (weights, biases, BN statistics).
  /// Int64 constants are operands such as shapes and pads, not parameters.
  int64_t params = 0;
  /// Storage for those parameters: elements × bits of their type (the
  /// quantization bits when the type carries QuantParams), rounded up to
  /// whole bytes per tensor.
  int64_t paramBytes = 0;
};

/// Cost of node `id`. Nodes whose operand shapes are missing or inconsistent
/// count 0 MACs rather than failing.
NodeCost nodeCost(const Graph &graph, NodeId id);

/// Per-node costs and their totals.
struct GraphCost {
  std::vector<NodeCost> nodes; ///< Indexed like graph.nodes().
  int64_t macs = 0;
  int64_t otherOps = 0;
  /// Each constant counted once, even when several nodes read it.
  int64_t params = 0;
  int64_t paramBytes = 0;
};

/// nodeCost() over every node, with graph totals.
GraphCost graphCost(const Graph &graph);

/// True when `value` counts as a parameter: a constant that is not int64.
bool isParameter(const Value &value);

/// Storage bits per element of `type`: its quantization bits, else the
/// dtype's size.
int elementBits(const TensorType &type);

} // namespace mars::ir
