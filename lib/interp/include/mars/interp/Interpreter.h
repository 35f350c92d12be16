#pragma once
/// \file
/// The float32 reference interpreter: the yardstick for every pass and for the
/// simulator. Plain loops, ONNX semantics.

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <vector>

namespace mars::interp {

/// Runs `graph` on `inputs`, one tensor per graph input in order, and returns
/// one tensor per graph output. Inputs whose dtype or shape differ from the
/// graph input's type are an error naming the input. QuantizeLinear and
/// DequantizeLinear follow ONNX exactly (round half to even, saturation).
Expected<std::vector<ir::Tensor>> run(const ir::Graph &graph,
                                      const std::vector<ir::Tensor> &inputs);

} // namespace mars::interp
