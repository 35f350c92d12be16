#pragma once
/// \file
/// The window walk of MaxPool and AveragePool, written once for the integer
/// reference (IntLayer over IntValue) and the runtime's digital pooling
/// (program::Layer over program::Buffer): any layer type with kernelH/W,
/// strideH/W, dilationH/W and padTop/Left/Bottom/Right, over any value type
/// with height and width.

#include <cstdint>

namespace mars::quant {

/// Calls visit(value) for each element of `plane` (one channel, height ×
/// width) inside the window of output (y, x); returns how many there were.
template <typename Layer, typename Value, typename Visit>
int forPoolWindow(const Layer &l, const Value &in, const int32_t *plane, int y,
                  int x, Visit visit) {
  int count = 0;
  for (int ky = 0; ky < l.kernelH; ++ky) {
    const int sy = y * l.strideH - l.padTop + ky * l.dilationH;
    if (sy < 0 || sy >= in.height)
      continue;
    for (int kx = 0; kx < l.kernelW; ++kx) {
      const int sx = x * l.strideW - l.padLeft + kx * l.dilationW;
      if (sx < 0 || sx >= in.width)
        continue;
      visit(plane[int64_t(sy) * in.width + sx]);
      ++count;
    }
  }
  return count;
}

/// Window positions of output (y, x) inside input + padding (AveragePool's
/// count_include_pad): the window clipped to the padded extent.
template <typename Layer, typename Value>
int paddedWindowCount(const Layer &l, const Value &in, int y, int x) {
  int rows = 0, cols = 0;
  for (int ky = 0; ky < l.kernelH; ++ky) {
    const int sy = y * l.strideH - l.padTop + ky * l.dilationH;
    rows += sy >= -l.padTop && sy < in.height + l.padBottom;
  }
  for (int kx = 0; kx < l.kernelW; ++kx) {
    const int sx = x * l.strideW - l.padLeft + kx * l.dilationW;
    cols += sx >= -l.padLeft && sx < in.width + l.padRight;
  }
  return rows * cols;
}

} // namespace mars::quant
