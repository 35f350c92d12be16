// The integer reference over a batch of images (`marsc eval --integer`).
#include "mars/quant/Execute.h"

#include <algorithm>

namespace mars::quant {

Expected<ir::Tensor> runIntegerBatch(const IntegerNet &net,
                                     const ir::Tensor &x) {
  const int64_t batch = x.shape().empty() ? 1 : x.shape()[0];
  const int64_t imageSize = x.numElements() / std::max<int64_t>(1, batch);
  if (imageSize != net.value(net.input).size())
    return makeError("the input holds ", imageSize,
                     " values per image but the integer network expects ",
                     net.value(net.input).size());
  const IntValue &out = net.value(net.output);
  ir::Shape shape = out.height == 1 && out.width == 1
                        ? ir::Shape{batch, out.channels}
                        : ir::Shape{batch, out.channels, out.height, out.width};
  ir::Tensor result(ir::DType::Float32, shape);
  std::vector<float> image(static_cast<size_t>(imageSize));
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t i = 0; i < imageSize; ++i)
      image[i] = static_cast<float>(x.getAsDouble(n * imageSize + i));
    std::vector<int32_t> q = runInteger(net, quantizeInput(net, image.data()));
    for (int64_t i = 0; i < out.size(); ++i)
      result.setFromDouble(n * out.size() + i, outputReal(net, q, i));
  }
  return result;
}

} // namespace mars::quant
