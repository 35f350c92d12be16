#pragma once
/// \file
/// Tensor types (shape, dtype, quantization parameters) and constant tensors.

#include "mars/ir/DType.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace mars::ir {

using Shape = std::vector<int64_t>;

/// Number of elements of a shape (1 for a scalar). Requires non-negative dims.
int64_t numElements(const Shape &shape);
/// "[1,3,32,32]".
std::string shapeToString(const Shape &shape);

/// Quantization parameters carried by a tensor type, as Glow's quantized
/// types do: real = scale * (q - zeroPoint). Per-tensor when `axis` is -1
/// (one scale and one zero point), else one entry per index along `axis`.
struct QuantParams {
  int bits = 8;
  std::vector<float> scales;
  std::vector<int64_t> zeroPoints;
  int axis = -1;

  bool perChannel() const { return axis >= 0; }
  bool operator==(const QuantParams &o) const {
    return bits == o.bits && scales == o.scales && zeroPoints == o.zeroPoints &&
           axis == o.axis;
  }
};

/// The type of an IR value.
struct TensorType {
  DType dtype = DType::Float32;
  Shape shape;
  std::optional<QuantParams> quant;

  int64_t numElements() const { return ir::numElements(shape); }
  size_t rank() const { return shape.size(); }
  bool operator==(const TensorType &o) const {
    return dtype == o.dtype && shape == o.shape && quant == o.quant;
  }
  bool operator!=(const TensorType &o) const { return !(*this == o); }
  /// "f32[1,3,32,32]" or "i8[64,3,3,3] q(bits=4, axis=0, 64 scales)".
  std::string toString() const;
};

/// A dense tensor with its data (constants, initializers, interpreter values).
/// Data is stored as raw little-endian bytes of `type.dtype`.
class Tensor {
public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);
  explicit Tensor(TensorType type);

  /// A float32 tensor holding `values`, which must match the shape.
  static Tensor fromFloats(Shape shape, const std::vector<float> &values);
  /// An int64 tensor holding `values`, which must match the shape.
  static Tensor fromInt64s(Shape shape, const std::vector<int64_t> &values);

  const TensorType &type() const { return type_; }
  TensorType &type() { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape &shape() const { return type_.shape; }
  int64_t numElements() const { return type_.numElements(); }
  size_t byteSize() const { return bytes_.size(); }

  template <typename T> T *data() {
    return reinterpret_cast<T *>(bytes_.data());
  }
  template <typename T> const T *data() const {
    return reinterpret_cast<const T *>(bytes_.data());
  }
  std::vector<uint8_t> &bytes() { return bytes_; }
  const std::vector<uint8_t> &bytes() const { return bytes_; }

  /// Element i converted to double / int64, whatever the dtype.
  double getAsDouble(int64_t i) const;
  int64_t getAsInt64(int64_t i) const;
  /// Stores v converted to the dtype (integers wrap as two's complement).
  void setFromDouble(int64_t i, double v);
  /// All elements as int64 (for shapes, pads, axes).
  std::vector<int64_t> toInt64s() const;
  /// All elements as float.
  std::vector<float> toFloats() const;

  bool operator==(const Tensor &o) const {
    return type_ == o.type_ && bytes_ == o.bytes_;
  }
  bool operator!=(const Tensor &o) const { return !(*this == o); }

private:
  TensorType type_;
  std::vector<uint8_t> bytes_;
};

} // namespace mars::ir
