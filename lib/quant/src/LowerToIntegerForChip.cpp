// A QDQ graph -> the integer network the chip runs (the lower-to-integer pass
// and `marsc eval --integer`).
#include "mars/quant/ChipOps.h"
#include "mars/quant/Lower.h"

namespace mars::quant {

bool isQuantized(const ir::Graph &g) {
  for (const ir::Node &n : g.nodes())
    if (n.op == ir::OpKind::QuantizeLinear)
      return true;
  return false;
}

Expected<IntegerNet> lowerToIntegerForChip(ir::Graph &graph,
                                           const LowerOptions &options,
                                           bool *droppedSoftmax) {
  if (!isQuantized(graph))
    return makeError("the model is not quantized: compile it with --calib "
                     "(post-training quantization) or compress it with "
                     "`marsc train` first");
  const bool dropped = dropFinalSoftmax(graph);
  if (droppedSoftmax)
    *droppedSoftmax = dropped;
  MARS_TRY(checkChipOps(graph));
  return lowerToInteger(graph, options);
}

} // namespace mars::quant
