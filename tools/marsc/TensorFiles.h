#pragma once
/// \file
/// Tensor files chosen by extension: `.npy` (NumPy, lib/data) or `.pb`
/// (ONNX TensorProto, lib/onnx). The conversion between lib/data's NpyArray
/// and ir::Tensor lives here because lib/data may not depend on the IR.

#include "mars/ir/Tensor.h"
#include "mars/support/Error.h"

#include <string>

namespace mars::cli {

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

} // namespace mars::cli
