/// \file
/// MaxPool, AveragePool (2-D, NCHW) and GlobalAveragePool.
///
/// Window (oy, ox) covers input rows oy*strideH - padTop + ky*dilationH for
/// ky in [0, kh), and likewise for columns. Positions outside the input are
/// padding: MaxPool ignores them; AveragePool divides by the number of real
/// positions, or with count_include_pad=1 by the number of positions inside
/// the padded input (but not the positions beyond it that ceil_mode adds),
/// as ONNX Runtime and PyTorch do.

#include "ConvParams.h"
#include "DTypeDispatch.h"
#include "Kernels.h"

#include <limits>
#include <type_traits>

namespace mars::interp {

namespace {

/// Output extent along one axis: between the floor and the ceil_mode rule.
/// The graph's shape decides (shape inference owns the ceil_mode subtleties).
bool plausibleExtent(int64_t out, int64_t in, int64_t padBegin, int64_t padEnd,
                     int64_t k, int64_t stride, int64_t dilation) {
  const int64_t span = in + padBegin + padEnd - dilation * (k - 1) - 1;
  if (span < 0)
    return false;
  const int64_t floorOut = span / stride + 1;
  const int64_t ceilOut = (span + stride - 1) / stride + 1;
  return out >= floorOut && out <= ceilOut;
}

/// Reads the window and checks the shapes shared by both pooling kernels.
Expected<Window2D> poolWindow(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0);
  const ir::Tensor &y = args.output(0);
  if (x.shape().size() != 4)
    return makeError("only 2-D pooling (rank-4 NCHW input) is supported");
  if (!args.attrs().has("kernel_shape"))
    return makeError("kernel_shape is required");
  auto win = Window2D::fromAttributes(args.attrs(), {});
  if (!win)
    return win;
  const ir::Shape &xs = x.shape(), &ys = y.shape();
  MARS_CHECK(ys.size() == 4 && ys[0] == xs[0] && ys[1] == xs[1],
             "pool output shape");
  MARS_CHECK(plausibleExtent(ys[2], xs[2], win->padTop, win->padBottom, win->kh,
                             win->strideH, win->dilationH),
             "pool output height");
  MARS_CHECK(plausibleExtent(ys[3], xs[3], win->padLeft, win->padRight, win->kw,
                             win->strideW, win->dilationW),
             "pool output width");
  return win;
}

template <typename T>
void maxPool(const ir::Tensor &x, ir::Tensor &y, const Window2D &win) {
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t h = x.shape()[2], w = x.shape()[3];
  const int64_t oh = y.shape()[2], ow = y.shape()[3];
  for (int64_t p = 0; p < planes; ++p) {
    const T *in = x.data<T>() + p * h * w;
    T *out = y.data<T>() + p * oh * ow;
    for (int64_t oy = 0; oy < oh; ++oy) {
      for (int64_t ox = 0; ox < ow; ++ox) {
        T best = std::numeric_limits<T>::lowest();
        for (int64_t ky = 0; ky < win.kh; ++ky) {
          const int64_t iy = oy * win.strideH - win.padTop + ky * win.dilationH;
          if (iy < 0 || iy >= h)
            continue;
          for (int64_t kx = 0; kx < win.kw; ++kx) {
            const int64_t ix =
                ox * win.strideW - win.padLeft + kx * win.dilationW;
            if (ix >= 0 && ix < w && in[iy * w + ix] > best)
              best = in[iy * w + ix];
          }
        }
        out[oy * ow + ox] = best;
      }
    }
  }
}

/// Number of window positions along one axis that lie in [0, limit).
int64_t countInside(int64_t start, int64_t k, int64_t dilation, int64_t lo,
                    int64_t limit) {
  int64_t count = 0;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t pos = start + i * dilation;
    count += pos >= lo && pos < limit;
  }
  return count;
}

} // namespace

Status runMaxPool(const KernelArgs &args) {
  if (args.hasOutput(1))
    return makeError("the Indices output is not supported");
  auto win = poolWindow(args);
  if (!win)
    return win.error();
  const ir::Tensor &x = args.input(0);
  return visitDType(x.dtype(), [&](auto zero) -> Status {
    using T = decltype(zero);
    maxPool<T>(x, args.output(0), *win);
    return Status::success();
  });
}

namespace {

/// AveragePool in T (float, or double in Precision::Float64).
template <typename T>
void averagePool(const ir::Tensor &x, ir::Tensor &y, const Window2D &win,
                 bool includePad) {
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t h = x.shape()[2], w = x.shape()[3];
  const int64_t oh = y.shape()[2], ow = y.shape()[3];
  for (int64_t p = 0; p < planes; ++p) {
    const T *in = x.data<T>() + p * h * w;
    T *out = y.data<T>() + p * oh * ow;
    for (int64_t oy = 0; oy < oh; ++oy) {
      const int64_t y0 = oy * win.strideH - win.padTop;
      const int64_t rows = includePad
                               ? countInside(y0, win.kh, win.dilationH,
                                             -win.padTop, h + win.padBottom)
                               : countInside(y0, win.kh, win.dilationH, 0, h);
      for (int64_t ox = 0; ox < ow; ++ox) {
        const int64_t x0 = ox * win.strideW - win.padLeft;
        const int64_t cols = includePad
                                 ? countInside(x0, win.kw, win.dilationW,
                                               -win.padLeft, w + win.padRight)
                                 : countInside(x0, win.kw, win.dilationW, 0, w);
        T sum = 0;
        for (int64_t ky = 0; ky < win.kh; ++ky) {
          const int64_t iy = y0 + ky * win.dilationH;
          if (iy < 0 || iy >= h)
            continue;
          for (int64_t kx = 0; kx < win.kw; ++kx) {
            const int64_t ix = x0 + kx * win.dilationW;
            if (ix >= 0 && ix < w)
              sum += in[iy * w + ix];
          }
        }
        const int64_t count = rows * cols;
        out[oy * ow + ox] = count > 0 ? sum / static_cast<T>(count) : T(0);
      }
    }
  }
}

} // namespace

Status runAveragePool(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0);
  if (ir::isInteger(x.dtype()))
    return unsupportedDType(x.dtype());
  auto win = poolWindow(args);
  if (!win)
    return win.error();
  const bool includePad = args.attrs().getInt("count_include_pad", 0) != 0;
  visitFloatDType(x.dtype(), [&](auto zero) {
    averagePool<decltype(zero)>(x, args.output(0), *win, includePad);
    return 0;
  });
  return Status::success();
}

/// Mean over every dimension after the first two, accumulated in double.
Status runGlobalAveragePool(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0);
  ir::Tensor &y = args.output(0);
  if (ir::isInteger(x.dtype()))
    return unsupportedDType(x.dtype());
  if (x.shape().size() < 3)
    return makeError("input rank ", x.shape().size(), " is below 3");
  const int64_t planes = x.shape()[0] * x.shape()[1];
  MARS_CHECK(y.numElements() == planes, "GlobalAveragePool output shape");
  if (planes == 0)
    return Status::success();
  const int64_t size = x.numElements() / planes;
  visitFloatDType(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    for (int64_t p = 0; p < planes; ++p) {
      const T *in = x.data<T>() + p * size;
      double sum = 0;
      for (int64_t i = 0; i < size; ++i)
        sum += in[i];
      y.data<T>()[p] = static_cast<T>(sum / static_cast<double>(size));
    }
    return 0;
  });
  return Status::success();
}

} // namespace mars::interp
