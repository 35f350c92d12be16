#pragma once
/// \file
/// Element types of IR tensors.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace mars::ir {

/// The element types the IR knows. Values match nothing external; the ONNX
/// layer maps them to TensorProto::DataType.
/// Float64 appears only inside the reference interpreter's double-precision
/// mode (interp::Precision::Float64); no model file or program holds it.
enum class DType : uint8_t { Float32, Int8, UInt8, Int32, Int64, Float64 };

/// Size of one element in bytes.
size_t dtypeSize(DType dtype);
/// Short name used by the printer: f32, i8, u8, i32, i64, f64.
const char *dtypeName(DType dtype);
/// Inverse of dtypeName.
std::optional<DType> parseDType(const std::string &name);
/// True for the integer types.
inline bool isInteger(DType d) {
  return d != DType::Float32 && d != DType::Float64;
}

} // namespace mars::ir
