#pragma once
/// \file
/// The 2-D window geometry shared by Conv and the pooling kernels.

#include "mars/ir/Attribute.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <vector>

namespace mars::interp {

/// Kernel size, strides, dilations and pads of a 2-D window op, with ONNX's
/// defaults for absent attributes. pads are [top, left, bottom, right].
struct Window2D {
  int64_t kh = 1, kw = 1;
  int64_t strideH = 1, strideW = 1;
  int64_t dilationH = 1, dilationW = 1;
  int64_t padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;

  /// Reads the attributes; `kernel` supplies kernel_shape when absent (Conv
  /// takes it from the weights).
  static Expected<Window2D> fromAttributes(const ir::AttributeMap &attrs,
                                           std::vector<int64_t> kernel);
};

inline Expected<Window2D>
Window2D::fromAttributes(const ir::AttributeMap &attrs,
                         std::vector<int64_t> kernel) {
  kernel = attrs.getInts("kernel_shape", kernel);
  const auto strides = attrs.getInts("strides", {1, 1});
  const auto dilations = attrs.getInts("dilations", {1, 1});
  const auto pads = attrs.getInts("pads", {0, 0, 0, 0});
  if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2 ||
      pads.size() != 4)
    return makeError("only 2-D windows are supported (kernel_shape has ",
                     kernel.size(), " dims)");
  Window2D w;
  w.kh = kernel[0];
  w.kw = kernel[1];
  w.strideH = strides[0];
  w.strideW = strides[1];
  w.dilationH = dilations[0];
  w.dilationW = dilations[1];
  w.padTop = pads[0];
  w.padLeft = pads[1];
  w.padBottom = pads[2];
  w.padRight = pads[3];
  if (w.kh < 1 || w.kw < 1 || w.strideH < 1 || w.strideW < 1 ||
      w.dilationH < 1 || w.dilationW < 1)
    return makeError("kernel_shape, strides and dilations must be positive");
  if (w.padTop < 0 || w.padLeft < 0 || w.padBottom < 0 || w.padRight < 0)
    return makeError("pads must be non-negative");
  return w;
}

} // namespace mars::interp
