#pragma once
/// \file
/// Calls a generic lambda with a value of the C++ type of an IR dtype, so
/// that one template serves all six element types.

#include "mars/ir/DType.h"
#include "mars/support/Error.h"

#include <cstdint>

namespace mars::interp {

/// Returns `f(T{})` where T is the C++ element type of `dtype`.
template <typename F> auto visitDType(ir::DType dtype, F &&f) {
  switch (dtype) {
  case ir::DType::Float32: return f(float{});
  case ir::DType::Int8: return f(int8_t{});
  case ir::DType::UInt8: return f(uint8_t{});
  case ir::DType::Int32: return f(int32_t{});
  case ir::DType::Int64: return f(int64_t{});
  case ir::DType::Float64: return f(double{});
  }
  MARS_CHECK(false, "unknown dtype");
}

/// Returns `f(float{})` or, for Float64 (interp::Precision::Float64),
/// `f(double{})`: the float kernels are templates over the two.
template <typename F> auto visitFloatDType(ir::DType dtype, F &&f) {
  return dtype == ir::DType::Float64 ? f(double{}) : f(float{});
}

/// Error for a kernel that does not implement `dtype`.
inline Error unsupportedDType(ir::DType dtype) {
  return makeError("unsupported dtype ", ir::dtypeName(dtype));
}

} // namespace mars::interp
