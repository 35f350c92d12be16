#pragma once
/// \file
/// Graph IR → ONNX.

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <string>

namespace mars::onnx {

/// Serializes the graph as an ONNX ModelProto (opset 17) that passes
/// onnx::checker. Quantization parameters of value types, which ONNX has no
/// field for, travel in metadata_props so that import(export(g)) == g.
/// Graph inputs and outputs whose leading dimension is 1 (rank ≥ 2) get the
/// symbolic batch dimension "N", so other tools can run a batch; importing
/// gives it ImportOptions::batchSize.
Expected<std::string> exportModel(const ir::Graph &graph);

/// exportModel() written atomically to `path` (temporary file, then rename):
/// on failure nothing is left at `path`.
Status exportModelFile(const ir::Graph &graph, const std::string &path);

} // namespace mars::onnx
