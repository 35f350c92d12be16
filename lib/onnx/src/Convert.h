#pragma once
/// \file
/// Internal: conversions between ONNX protobuf messages and IR types, shared
/// by import, export and TensorProto files. Errors carry no context; callers
/// prefix the value or node they were converting.

#include "mars/ir/Tensor.h"
#include "mars/support/Error.h"

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>

namespace mars::onnx::detail {

/// The IR dtype for an ONNX TensorProto::DataType, if the IR has one.
std::optional<ir::DType> dtypeFromOnnx(int32_t elemType);
/// The ONNX TensorProto::DataType of an IR dtype.
int32_t dtypeToOnnx(ir::DType dtype);
/// "FLOAT16", "DOUBLE", ... or "<code N>" for an unknown code.
std::string onnxDTypeName(int32_t elemType);

/// Rejects negative dimensions (and zero ones unless `allowZero`) and shapes
/// of more than 2^31 elements, before anything is allocated for them.
Status checkShape(const ir::Shape &shape, bool allowZero);

/// Converts a TensorProto (raw_data or the typed fields). External data,
/// unsupported dtypes and data sizes that do not match the dims are errors.
/// With `boolAsUInt8`, BOOL tensors are accepted and read as u8.
Expected<ir::Tensor> tensorFromProto(const ::onnx::TensorProto &proto,
                                     bool boolAsUInt8 = false);
/// Fills `proto` with the tensor as raw_data.
void tensorToProto(const ir::Tensor &tensor, const std::string &name,
                   ::onnx::TensorProto &proto);

/// metadata_props key prefix for quantization parameters of a value.
inline const char *kQuantKeyPrefix = "mars.quant.";
/// Other model-level facts (ir::Graph::metadata): "mars.<key>".
inline const char *kMetadataKeyPrefix = "mars.";
/// "bits=8;axis=-1;scales=0.5;zero_points=3" (floats with 9 significant
/// digits, which round-trips float32 exactly).
std::string encodeQuant(const ir::QuantParams &quant);
/// Inverse of encodeQuant.
Expected<ir::QuantParams> decodeQuant(const std::string &text);

/// Reads a whole file.
Expected<std::string> readFile(const std::string &path);

} // namespace mars::onnx::detail
