#pragma once
/// \file
/// Tensors as serialized ONNX TensorProto files (the format of the backend
/// conformance tests' input_N.pb / output_N.pb).

#include "mars/ir/Graph.h"
#include "mars/ir/Tensor.h"
#include "mars/support/Error.h"

#include <string>
#include <vector>

namespace mars::onnx {

/// Reads a TensorProto file (raw_data or typed fields). Optionally returns its
/// name. BOOL tensors are read as u8 holding 0 or 1 (the IR has no bool; the
/// interpreter's Dropout mask is u8). Other unsupported dtypes and
/// inconsistent sizes are errors.
Expected<ir::Tensor> readTensorProtoFile(const std::string &path,
                                         std::string *name = nullptr);

/// The bytes of a TensorProto file (for writers that publish several files
/// together, AtomicFileSet).
Expected<std::string> serializeTensorProto(const ir::Tensor &tensor,
                                           const std::string &name);

/// Writes a TensorProto file atomically.
Status writeTensorProtoFile(const ir::Tensor &tensor, const std::string &name,
                            const std::string &path);

// Tensor files chosen by extension: `.npy` (NumPy, lib/data's reader and
// writer) or `.pb` (TensorProto, above), the files `marsc eval`, `run` and
// `verify` take and write. The NpyArray <-> ir::Tensor conversion lives here
// because lib/data may not depend on the IR.

/// Fails unless `path` ends in ".npy" or ".pb".
Status checkTensorFileExtension(const std::string &path);

/// Reads a .npy or .pb tensor file.
Expected<ir::Tensor> readTensorFile(const std::string &path);

/// The bytes of `tensor` as a .npy or .pb file (by `path`'s extension);
/// `name` is stored in .pb files.
Expected<std::string> tensorFileBytes(const ir::Tensor &tensor,
                                      const std::string &name,
                                      const std::string &path);

/// Writes `tensor` atomically as .npy or .pb; `name` is stored in .pb files.
Status writeTensorFile(const ir::Tensor &tensor, const std::string &name,
                       const std::string &path);

/// One tensor file per input of `graph`, in order, each of exactly the
/// input's dtype and shape. `model` names the graph in errors: a wrong
/// number of files, or a file that does not match its input.
Expected<std::vector<ir::Tensor>>
readGraphInputs(const ir::Graph &graph, const std::vector<std::string> &paths,
                const std::string &model);

/// Writes outputs[i], the value of graph output i, to paths[i] (named after
/// that output in .pb files) for every path given; on failure removes the
/// files already written, so a failed run leaves none behind.
Status writeGraphOutputs(const ir::Graph &graph,
                         const std::vector<ir::Tensor> &outputs,
                         const std::vector<std::string> &paths);

} // namespace mars::onnx
