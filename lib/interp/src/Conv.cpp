/// \file
/// Conv: 2-D NCHW convolution with groups (depthwise included), strides,
/// dilations, pads and an optional bias.
///
/// Each (image, group) is lowered to one matrix product (im2col): the
/// receptive fields are unrolled into a matrix `col` of shape
/// [Cg*KH*KW, OH*OW], whose row (c, kh, kw) holds input channel c shifted by
/// that kernel offset, zero where the window reads padding. Then
/// out[Mg, OH*OW] = W[Mg, Cg*KH*KW] · col, with out initialised to the bias.
/// The weights of one group are already that row-major matrix.

#include "ConvParams.h"
#include "Kernels.h"
#include "MatrixMultiply.h"

#include <algorithm>
#include <type_traits>
#include <vector>

namespace mars::interp {

namespace {

/// Fills col (rows Cg*KH*KW, columns OH*OW) from channels [c0, c0+cg) of one
/// image x of shape [C, H, W].
template <typename T>
void im2col(const T *x, int64_t cg, int64_t h, int64_t w, const Window2D &win,
            int64_t oh, int64_t ow, T *col) {
  for (int64_t c = 0; c < cg; ++c) {
    const T *plane = x + c * h * w;
    for (int64_t ky = 0; ky < win.kh; ++ky) {
      for (int64_t kx = 0; kx < win.kw; ++kx) {
        T *row = col + ((c * win.kh + ky) * win.kw + kx) * oh * ow;
        for (int64_t oy = 0; oy < oh; ++oy) {
          T *dst = row + oy * ow;
          const int64_t iy = oy * win.strideH - win.padTop + ky * win.dilationH;
          if (iy < 0 || iy >= h) {
            std::fill(dst, dst + ow, T(0));
            continue;
          }
          const T *src = plane + iy * w;
          const int64_t ix0 = kx * win.dilationW - win.padLeft;
          for (int64_t ox = 0; ox < ow; ++ox) {
            const int64_t ix = ox * win.strideW + ix0;
            dst[ox] = ix >= 0 && ix < w ? src[ix] : T(0);
          }
        }
      }
    }
  }
}

/// The convolution in T (float, or double in interp::Precision::Float64).
template <typename T> Status convolve(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0), &wt = args.input(1);
  ir::Tensor &y = args.output(0);
  const ir::DType dtype = x.dtype();
  if (x.shape().size() != 4 || wt.shape().size() != 4)
    return makeError("only 2-D convolution (rank-4 NCHW) is supported");
  const ir::Shape &xs = x.shape(), &ws = wt.shape();
  const int64_t n = xs[0], c = xs[1], h = xs[2], w = xs[3];
  const int64_t m = ws[0], cg = ws[1];
  const int64_t group = args.attrs().getInt("group", 1);
  if (group < 1 || c % group != 0 || cg * group != c || m % group != 0)
    return makeError("group=", group, " does not fit ", c,
                     " input channels and weights ", ir::shapeToString(ws));
  auto win = Window2D::fromAttributes(args.attrs(), {ws[2], ws[3]});
  if (!win)
    return win.error();
  if (win->kh != ws[2] || win->kw != ws[3])
    return makeError("kernel_shape differs from the weights' shape");

  const int64_t oh =
      (h + win->padTop + win->padBottom - win->dilationH * (win->kh - 1) - 1) /
          win->strideH +
      1;
  const int64_t ow =
      (w + win->padLeft + win->padRight - win->dilationW * (win->kw - 1) - 1) /
          win->strideW +
      1;
  MARS_CHECK((y.shape() == ir::Shape{n, m, oh, ow}), "Conv output shape");
  const T *bias = nullptr;
  if (args.hasInput(2)) {
    if (args.input(2).dtype() != dtype || args.input(2).numElements() != m)
      return makeError("bias must be ", ir::dtypeName(dtype), "[", m, "], got ",
                       args.input(2).type().toString());
    bias = args.input(2).data<T>();
  }

  const int64_t mg = m / group, kdim = cg * win->kh * win->kw, pixels = oh * ow;
  // A 1x1 unit-stride unpadded convolution reads the input as col directly.
  const bool direct = win->kh == 1 && win->kw == 1 && win->strideH == 1 &&
                      win->strideW == 1 && win->padTop == 0 &&
                      win->padLeft == 0 && win->padBottom == 0 &&
                      win->padRight == 0;
  std::vector<T> col(direct ? 0 : static_cast<size_t>(kdim * pixels));
  T *out = y.data<T>();
  for (int64_t img = 0; img < n; ++img) {
    for (int64_t g = 0; g < group; ++g) {
      const T *xg = x.data<T>() + (img * c + g * cg) * h * w;
      T *yg = out + (img * m + g * mg) * pixels;
      for (int64_t oc = 0; oc < mg; ++oc)
        std::fill(yg + oc * pixels, yg + (oc + 1) * pixels,
                  bias ? bias[g * mg + oc] : T(0));
      const T *colData = xg;
      if (!direct) {
        im2col(xg, cg, h, w, *win, oh, ow, col.data());
        colData = col.data();
      }
      const T *weights = wt.data<T>() + g * mg * kdim;
      if constexpr (std::is_same_v<T, float>) {
        if (args.packedWeights && args.isConstantInput(1)) {
          // A session's run: the weights were packed by an earlier image.
          const PackedMatrixA &packed =
              args.packedWeights->get(&wt, g, mg, kdim, weights);
          matmulAccumulatePacked(packed, pixels, colData, pixels, yg, pixels);
          continue;
        }
      }
      matmulAccumulate(mg, pixels, kdim, weights, kdim, colData, pixels, yg,
                       pixels);
    }
  }
  return Status::success();
}

} // namespace

Status runConv(const KernelArgs &args) {
  const ir::DType dtype = args.input(0).dtype();
  if (args.input(1).dtype() != dtype ||
      (dtype != ir::DType::Float32 && dtype != ir::DType::Float64))
    return makeError("only float32 convolution is supported");
  return dtype == ir::DType::Float32 ? convolve<float>(args)
                                     : convolve<double>(args);
}

} // namespace mars::interp
