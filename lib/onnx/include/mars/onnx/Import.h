#pragma once
/// \file
/// ONNX → Graph IR.

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <map>
#include <string>

namespace mars::onnx {

/// Options for importing a model.
struct ImportOptions {
  /// Size given to symbolic or unknown dimensions of graph inputs (the batch).
  int64_t batchSize = 1;
  /// Graph inputs to turn into initializers with these values before shape
  /// inference (e.g. a Reshape's shape fed as an input in conformance tests).
  std::map<std::string, ir::Tensor> bindInputs;
};

/// Imports a serialized ModelProto. `sourceName` (usually the file path)
/// prefixes every error: "model.onnx: node 'conv3' (Conv): ...". The result is
/// topologically sorted, fully shape-inferred and verified.
Expected<ir::Graph> importModel(const std::string &bytes,
                                const std::string &sourceName,
                                const ImportOptions &options = {});

/// Whether the importer converts the ai.onnx op `opType` at all: every op
/// of the IR (lib/ir Ops.def), Constant (into an initializer) and
/// ReduceMean (into a global average pool where it is one;
/// lib/onnx/README.md). A node of another op is refused up front.
bool isImportedOp(const std::string &opType);

/// Reads and imports an ONNX file.
Expected<ir::Graph> importModelFile(const std::string &path,
                                    const ImportOptions &options = {});

} // namespace mars::onnx
