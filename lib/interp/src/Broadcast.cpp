#include "Broadcast.h"

#include "mars/support/Error.h"

namespace mars::interp {

std::vector<int64_t> broadcastStrides(const ir::Shape &shape,
                                      const ir::Shape &outShape) {
  MARS_CHECK(shape.size() <= outShape.size(), "operand rank exceeds result");
  std::vector<int64_t> strides(outShape.size(), 0);
  const size_t lead = outShape.size() - shape.size();
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    const int64_t dim = shape[i], outDim = outShape[lead + i];
    MARS_CHECK(dim == outDim || dim == 1, "shapes do not broadcast");
    strides[lead + i] = dim == 1 ? 0 : stride;
    stride *= dim;
  }
  return strides;
}

} // namespace mars::interp
