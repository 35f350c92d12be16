/// \file
/// QuantizeLinear and DequantizeLinear, per tensor or per axis, exactly as
/// ONNX defines them:
///   QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
///   DequantizeLinear: y = (x - zero_point) * scale
/// The division is done in float, as the reference's numpy float32 divide;
/// in Precision::Float64 every float (x, scale, y) is a double instead.

#include "DTypeDispatch.h"
#include "Kernels.h"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <limits>
#include <type_traits>

namespace mars::interp {

namespace {

/// Per-tensor or per-axis parameters: element i uses channel
/// (i / inner) % channels, where inner is the size of the dimensions after
/// the axis. Per tensor, channels = 1.
struct QuantLayout {
  int64_t inner = 1, channels = 1;
  int64_t channelOf(int64_t i) const { return (i / inner) % channels; }
};

/// Validates scale (input 1) and zero point (input 2) against x.
Expected<QuantLayout> quantLayout(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0), &scale = args.input(1);
  if (scale.dtype() != ir::DType::Float32 &&
      scale.dtype() != ir::DType::Float64)
    return makeError("scale must be float32");
  if (args.hasInput(2) && args.input(2).numElements() != scale.numElements())
    return makeError("zero point has ", args.input(2).numElements(),
                     " elements but scale has ", scale.numElements());
  QuantLayout layout;
  if (scale.shape().size() == 0 ||
      (scale.shape().size() == 1 && scale.numElements() == 1 &&
       !args.attrs().has("axis")))
    return layout;
  if (scale.shape().size() != 1)
    return makeError("scale must be a scalar or 1-D, got ",
                     ir::shapeToString(scale.shape()));
  const int64_t rank = static_cast<int64_t>(x.shape().size());
  int64_t axis = args.attrs().getInt("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return makeError("axis ", args.attrs().getInt("axis", 1),
                     " is out of range for rank ", rank);
  if (scale.numElements() != x.shape()[axis]) {
    if (scale.numElements() == 1)
      return layout; // [1] with an explicit axis still means per tensor
    return makeError("scale has ", scale.numElements(), " elements for axis ",
                     axis, " of size ", x.shape()[axis]);
  }
  layout.channels = x.shape()[axis];
  for (int64_t d = axis + 1; d < rank; ++d)
    layout.inner *= x.shape()[d];
  return layout;
}

} // namespace

Status runQuantizeLinear(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0);
  ir::Tensor &y = args.output(0);
  if (ir::isInteger(x.dtype()) || args.input(1).dtype() != x.dtype())
    return makeError("input must be float32, got ", ir::dtypeName(x.dtype()));
  if (!ir::isInteger(y.dtype()))
    return makeError("output must be an integer type");
  MARS_CHECK(y.shape() == x.shape(), "QuantizeLinear output shape");
  if (args.hasInput(2))
    MARS_CHECK(args.input(2).dtype() == y.dtype(), "zero point dtype");
  auto layout = quantLayout(args);
  if (!layout)
    return layout.error();
  // std::nearbyint rounds half to even in the default rounding mode.
  MARS_CHECK(std::fegetround() == FE_TONEAREST, "rounding mode");
  return visitFloatDType(x.dtype(), [&](auto real) {
    using R = decltype(real);
    const R *scale = args.input(1).data<R>();
    const R *px = x.data<R>();
    return visitDType(y.dtype(), [&](auto zero) -> Status {
      using T = decltype(zero);
      if constexpr (std::is_floating_point_v<T>) {
        return Status::success(); // excluded above
      } else {
        const double lo = static_cast<double>(std::numeric_limits<T>::min());
        const double hi = static_cast<double>(std::numeric_limits<T>::max());
        const T *zp = args.hasInput(2) ? args.input(2).data<T>() : nullptr;
        T *py = y.data<T>();
        for (int64_t i = 0, n = x.numElements(); i < n; ++i) {
          const int64_t ch = layout->channelOf(i);
          double q = std::nearbyint(px[i] / scale[ch]); // in R
          q += zp ? static_cast<double>(zp[ch]) : 0.0;
          q = std::isnan(q) ? 0.0 : std::min(std::max(q, lo), hi);
          py[i] = static_cast<T>(q);
        }
        return Status::success();
      }
    });
  });
}

Status runDequantizeLinear(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0);
  ir::Tensor &y = args.output(0);
  if (x.dtype() != ir::DType::Int8 && x.dtype() != ir::DType::UInt8 &&
      x.dtype() != ir::DType::Int32)
    return makeError("input must be int8, uint8 or int32, got ",
                     ir::dtypeName(x.dtype()));
  if (ir::isInteger(y.dtype()) || args.input(1).dtype() != y.dtype())
    return makeError("output must be float32");
  MARS_CHECK(y.shape() == x.shape(), "DequantizeLinear output shape");
  if (args.hasInput(2))
    MARS_CHECK(args.input(2).dtype() == x.dtype(), "zero point dtype");
  auto layout = quantLayout(args);
  if (!layout)
    return layout.error();
  const ir::Tensor *zp = args.hasInput(2) ? &args.input(2) : nullptr;
  // The difference is taken in int64 so that int32 inputs stay exact; for
  // 8-bit inputs this equals the reference's float subtraction.
  visitFloatDType(y.dtype(), [&](auto real) {
    using R = decltype(real);
    const R *scale = args.input(1).data<R>();
    R *py = y.data<R>();
    for (int64_t i = 0, n = x.numElements(); i < n; ++i) {
      const int64_t ch = layout->channelOf(i);
      const int64_t diff = x.getAsInt64(i) - (zp ? zp->getAsInt64(ch) : 0);
      py[i] = static_cast<R>(diff) * scale[ch];
    }
    return 0;
  });
  return Status::success();
}

} // namespace mars::interp
