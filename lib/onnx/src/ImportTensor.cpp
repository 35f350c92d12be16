// ONNX dtypes, shapes and TensorProto data → IR tensors.
#include "Convert.h"

#include <cstring>

namespace mars::onnx::detail {

using ::onnx::TensorProto;

std::optional<ir::DType> dtypeFromOnnx(int32_t elemType) {
  switch (elemType) {
  case TensorProto::FLOAT: return ir::DType::Float32;
  case TensorProto::INT8: return ir::DType::Int8;
  case TensorProto::UINT8: return ir::DType::UInt8;
  case TensorProto::INT32: return ir::DType::Int32;
  case TensorProto::INT64: return ir::DType::Int64;
  default: return std::nullopt;
  }
}

int32_t dtypeToOnnx(ir::DType dtype) {
  switch (dtype) {
  case ir::DType::Float32: return TensorProto::FLOAT;
  case ir::DType::Int8: return TensorProto::INT8;
  case ir::DType::UInt8: return TensorProto::UINT8;
  case ir::DType::Int32: return TensorProto::INT32;
  case ir::DType::Int64: return TensorProto::INT64;
  case ir::DType::Float64: return TensorProto::DOUBLE;
  }
  MARS_CHECK(false, "unknown dtype");
}

std::string onnxDTypeName(int32_t elemType) {
  if (!::onnx::TensorProto_DataType_IsValid(elemType))
    return "<code " + std::to_string(elemType) + ">";
  return ::onnx::TensorProto_DataType_Name(
      static_cast<TensorProto::DataType>(elemType));
}

Status checkShape(const ir::Shape &shape, bool allowZero) {
  constexpr int64_t kMaxElements = int64_t{1} << 31;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d == 0 && !allowZero))
      return makeError("non-positive dimension in ", ir::shapeToString(shape));
    if (d != 0 && n > kMaxElements / d)
      return makeError("absurd size ", ir::shapeToString(shape),
                       " (more than 2^31 elements)");
    n *= d;
  }
  if (n > kMaxElements)
    return makeError("absurd size ", ir::shapeToString(shape),
                     " (more than 2^31 elements)");
  return Status::success();
}

namespace {
/// The value range of the 8- and 32-bit integer dtypes, false for the rest.
bool integerRange(ir::DType dtype, double &lo, double &hi) {
  switch (dtype) {
  case ir::DType::Int8: lo = -128, hi = 127; return true;
  case ir::DType::UInt8: lo = 0, hi = 255; return true;
  case ir::DType::Int32: lo = -2147483648.0, hi = 2147483647.0; return true;
  default: return false;
  }
}

/// Copies a repeated typed field into the tensor, converting per element.
template <typename Field>
Status copyTyped(const Field &field, const char *fieldName, ir::Tensor &t) {
  if (static_cast<int64_t>(field.size()) != t.numElements())
    return makeError(fieldName, " has ", field.size(), " values, dims ",
                     ir::shapeToString(t.shape()), " need ", t.numElements());
  // int32_data carries INT8, UINT8 and INT32 (and BOOL) values: a value
  // outside the tensor's dtype (a zero point of 300 in an INT8 tensor) is
  // an error, not a silent wrap.
  double lo = 0, hi = 0;
  const bool ranged = integerRange(t.dtype(), lo, hi);
  for (int64_t i = 0; i < t.numElements(); ++i) {
    const double v = static_cast<double>(field.Get(static_cast<int>(i)));
    if (ranged && (v < lo || v > hi))
      return makeError(fieldName, " value ", static_cast<int64_t>(v),
                       " at index ", i, " does not fit ",
                       ir::dtypeName(t.dtype()));
    t.setFromDouble(i, v);
  }
  return Status::success();
}
/// A BOOL tensor read as u8 holds exactly 0 or 1, whatever nonzero byte
/// the file used for true.
ir::Tensor normalizeBool(const TensorProto &proto, ir::Tensor t) {
  if (proto.data_type() == TensorProto::BOOL)
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.setFromDouble(i, t.getAsInt64(i) != 0 ? 1.0 : 0.0);
  return t;
}
} // namespace

Expected<ir::Tensor> tensorFromProto(const TensorProto &proto,
                                     bool boolAsUInt8) {
  if (proto.data_location() == TensorProto::EXTERNAL ||
      proto.external_data_size() > 0)
    return makeError("external data is not supported");
  if (proto.has_segment())
    return makeError("segmented tensors are not supported");
  std::optional<ir::DType> dtype = dtypeFromOnnx(proto.data_type());
  if (boolAsUInt8 && proto.data_type() == TensorProto::BOOL)
    dtype = ir::DType::UInt8;
  if (!dtype)
    return makeError("unsupported dtype ", onnxDTypeName(proto.data_type()),
                     " (supported: FLOAT, INT8, UINT8, INT32, INT64)");
  ir::Shape shape(proto.dims().begin(), proto.dims().end());
  MARS_TRY(checkShape(shape, /*allowZero=*/true));
  ir::Tensor t(*dtype, shape);
  if (proto.has_raw_data()) {
    const std::string &raw = proto.raw_data();
    if (raw.size() != t.byteSize())
      return makeError("raw_data has ", raw.size(), " bytes, dims ",
                       ir::shapeToString(shape), " need ", t.byteSize());
    // ONNX raw_data is little-endian, as is every host marsc targets.
    if (!raw.empty())
      std::memcpy(t.bytes().data(), raw.data(), raw.size());
    return normalizeBool(proto, std::move(t));
  }
  Status copied;
  switch (*dtype) {
  case ir::DType::Float32:
    copied = copyTyped(proto.float_data(), "float_data", t);
    break;
  case ir::DType::Int8:
  case ir::DType::UInt8:
  case ir::DType::Int32:
    copied = copyTyped(proto.int32_data(), "int32_data", t);
    break;
  case ir::DType::Int64:
    copied = copyTyped(proto.int64_data(), "int64_data", t);
    break;
  case ir::DType::Float64: // dtypeFromOnnx never returns it
    MARS_CHECK(false, "float64 tensor import");
  }
  if (!copied)
    return copied.error();
  return normalizeBool(proto, std::move(t));
}

} // namespace mars::onnx::detail
