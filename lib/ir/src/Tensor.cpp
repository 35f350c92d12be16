#include "mars/ir/Tensor.h"

#include "mars/support/Error.h"

#include <cmath>
#include <cstdio>

namespace mars::ir {

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    MARS_CHECK(d >= 0, "negative dimension");
    n *= d;
  }
  return n;
}

std::string shapeToString(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string TensorType::toString() const {
  std::string s = std::string(dtypeName(dtype)) + shapeToString(shape);
  if (!quant)
    return s;
  s += " q(bits=" + std::to_string(quant->bits);
  if (quant->perChannel()) {
    s += ", axis=" + std::to_string(quant->axis) + ", " +
         std::to_string(quant->scales.size()) + " scales)";
    return s;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, ", scale=%g, zp=%lld)",
                quant->scales.empty() ? 0.0 : double(quant->scales[0]),
                quant->zeroPoints.empty()
                    ? 0LL
                    : static_cast<long long>(quant->zeroPoints[0]));
  return s + buf;
}

Tensor::Tensor(DType dtype, Shape shape)
    : Tensor(TensorType{dtype, std::move(shape), std::nullopt}) {}

Tensor::Tensor(TensorType type) : type_(std::move(type)) {
  bytes_.assign(
      static_cast<size_t>(type_.numElements()) * dtypeSize(type_.dtype), 0);
}

Tensor Tensor::fromFloats(Shape shape, const std::vector<float> &values) {
  Tensor t(DType::Float32, std::move(shape));
  MARS_CHECK(static_cast<int64_t>(values.size()) == t.numElements());
  std::memcpy(t.bytes_.data(), values.data(), t.bytes_.size());
  return t;
}

Tensor Tensor::fromInt64s(Shape shape, const std::vector<int64_t> &values) {
  Tensor t(DType::Int64, std::move(shape));
  MARS_CHECK(static_cast<int64_t>(values.size()) == t.numElements());
  std::memcpy(t.bytes_.data(), values.data(), t.bytes_.size());
  return t;
}

double Tensor::getAsDouble(int64_t i) const {
  switch (dtype()) {
  case DType::Float32: return data<float>()[i];
  case DType::Int8: return data<int8_t>()[i];
  case DType::UInt8: return data<uint8_t>()[i];
  case DType::Int32: return data<int32_t>()[i];
  case DType::Int64: return static_cast<double>(data<int64_t>()[i]);
  case DType::Float64: return data<double>()[i];
  }
  MARS_CHECK(false, "unknown dtype");
}

int64_t Tensor::getAsInt64(int64_t i) const {
  switch (dtype()) {
  case DType::Float32: return static_cast<int64_t>(data<float>()[i]);
  case DType::Int8: return data<int8_t>()[i];
  case DType::UInt8: return data<uint8_t>()[i];
  case DType::Int32: return data<int32_t>()[i];
  case DType::Int64: return data<int64_t>()[i];
  case DType::Float64: return static_cast<int64_t>(data<double>()[i]);
  }
  MARS_CHECK(false, "unknown dtype");
}

void Tensor::setFromDouble(int64_t i, double v) {
  switch (dtype()) {
  case DType::Float32: data<float>()[i] = static_cast<float>(v); return;
  case DType::Int8:
    data<int8_t>()[i] = static_cast<int8_t>(static_cast<int64_t>(v));
    return;
  case DType::UInt8:
    data<uint8_t>()[i] = static_cast<uint8_t>(static_cast<int64_t>(v));
    return;
  case DType::Int32:
    data<int32_t>()[i] = static_cast<int32_t>(static_cast<int64_t>(v));
    return;
  case DType::Int64: data<int64_t>()[i] = static_cast<int64_t>(v); return;
  case DType::Float64: data<double>()[i] = v; return;
  }
  MARS_CHECK(false, "unknown dtype");
}

namespace {

/// The elements of `t` converted to `Out`, with the dtype switch outside the
/// loop (weights of a 224×224 ResNet-18 are 11.7 M elements) and no zero fill.
template <typename Out, typename Convert>
std::vector<Out> convertAll(const Tensor &t, Convert convert) {
  const auto n = static_cast<size_t>(t.numElements());
  std::vector<Out> out;
  out.reserve(n);
  auto copy = [&](const auto *p) {
    for (size_t i = 0; i < n; ++i)
      out.push_back(convert(p[i]));
  };
  switch (t.dtype()) {
  case DType::Float32: copy(t.data<float>()); return out;
  case DType::Int8: copy(t.data<int8_t>()); return out;
  case DType::UInt8: copy(t.data<uint8_t>()); return out;
  case DType::Int32: copy(t.data<int32_t>()); return out;
  case DType::Int64: copy(t.data<int64_t>()); return out;
  case DType::Float64: copy(t.data<double>()); return out;
  }
  MARS_CHECK(false, "unknown dtype");
}

} // namespace

std::vector<int64_t> Tensor::toInt64s() const {
  return convertAll<int64_t>(*this, [](auto v) { return int64_t(v); });
}

std::vector<float> Tensor::toFloats() const {
  // Through double, as getAsDouble does, so int64 values round the same way.
  return convertAll<float>(*this, [](auto v) { return float(double(v)); });
}

} // namespace mars::ir
