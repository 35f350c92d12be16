/// \file
/// Elementwise kernels: Add, Sub, Mul with numpy broadcasting over every
/// dtype, and the activations Relu, LeakyRelu and Clip.

#include "Broadcast.h"
#include "DTypeDispatch.h"
#include "Kernels.h"

#include <algorithm>
#include <limits>
#include <type_traits>

namespace mars::interp {

namespace {

/// Integer arithmetic wraps as two's complement, as in numpy and ONNX
/// Runtime. Doing it in the unsigned type of the same width makes the wrap
/// defined behaviour instead of signed overflow.
template <typename T, typename Op> T wrapping(T a, T b, Op op) {
  if constexpr (std::is_floating_point_v<T>) {
    return op(a, b);
  } else {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(
        static_cast<U>(op(static_cast<U>(a), static_cast<U>(b))));
  }
}

template <typename Op> Status runBinary(const KernelArgs &args, Op op) {
  const ir::Tensor &a = args.input(0), &b = args.input(1);
  ir::Tensor &y = args.output(0);
  MARS_CHECK(a.dtype() == y.dtype() && b.dtype() == y.dtype(),
             "operand dtypes differ from the result's");
  const auto stridesA = broadcastStrides(a.shape(), y.shape());
  const auto stridesB = broadcastStrides(b.shape(), y.shape());
  visitDType(y.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T *py = y.data<T>();
    forEachBroadcast(y.shape(), stridesA, stridesB,
                     [&](int64_t o, int64_t ia, int64_t ib) {
                       py[o] = wrapping<T>(pa[ia], pb[ib], op);
                     });
    return 0;
  });
  return Status::success();
}

/// Applies `f` to every element of input 0 into output 0 (same type).
template <typename F> void mapUnary(const KernelArgs &args, F &&f) {
  const ir::Tensor &x = args.input(0);
  ir::Tensor &y = args.output(0);
  MARS_CHECK(x.type().shape == y.shape() && x.dtype() == y.dtype(),
             "unary op changes the type");
  visitDType(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *px = x.data<T>();
    T *py = y.data<T>();
    for (int64_t i = 0, n = x.numElements(); i < n; ++i)
      py[i] = f(px[i]);
    return 0;
  });
}

} // namespace

Status runAdd(const KernelArgs &args) {
  return runBinary(args, [](auto a, auto b) { return a + b; });
}
Status runSub(const KernelArgs &args) {
  return runBinary(args, [](auto a, auto b) { return a - b; });
}
Status runMul(const KernelArgs &args) {
  return runBinary(args, [](auto a, auto b) { return a * b; });
}

Status runRelu(const KernelArgs &args) {
  mapUnary(args,
           [](auto v) { return v > decltype(v){0} ? v : decltype(v){0}; });
  return Status::success();
}

Status runLeakyRelu(const KernelArgs &args) {
  if (ir::isInteger(args.input(0).dtype()))
    return unsupportedDType(args.input(0).dtype());
  const float alpha = args.attrs().getFloat("alpha", 0.01f);
  visitFloatDType(args.input(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    mapUnary(args, [&](T v) { return v < 0 ? v * T(alpha) : v; });
    return 0;
  });
  return Status::success();
}

/// y = min(max(x, lo), hi), as numpy.clip: when lo > hi every element is hi.
/// Absent bounds are the dtype's extremes (lowest, not min, for float).
Status runClip(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0);
  for (size_t i = 1; i <= 2; ++i) {
    if (!args.hasInput(i))
      continue;
    MARS_CHECK(args.input(i).dtype() == x.dtype(), "Clip bound dtype");
    if (args.input(i).numElements() != 1)
      return makeError("bound ", i, " is not a scalar");
  }
  visitDType(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T lo = args.hasInput(1) ? args.input(1).data<T>()[0]
                                  : std::numeric_limits<T>::lowest();
    const T hi = args.hasInput(2) ? args.input(2).data<T>()[0]
                                  : std::numeric_limits<T>::max();
    mapUnary(args, [&](T v) { return std::min(std::max(v, lo), hi); });
    return 0;
  });
  return Status::success();
}

} // namespace mars::interp
