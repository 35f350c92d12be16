#pragma once
/// \file
/// Static shape and dtype inference for every op in Ops.def.

#include "mars/ir/Graph.h"

namespace mars::ir {

/// Computes the output type (dtype and shape) of one node from its inputs'
/// types and constant operands (Reshape's shape, Pad's pads). Fails with node
/// context on inconsistent shapes ("node 'fc' (Gemm): inner dimensions 120
/// and 84 differ"), and on dimensions that are non-positive or whose element
/// count exceeds 2^31.
Status inferNodeTypes(Graph &graph, NodeId node);

/// Runs inferNodeTypes over all nodes in topological order. Output types that
/// are already set are overwritten. Requires topoSort().
Status inferShapes(Graph &graph);

} // namespace mars::ir
