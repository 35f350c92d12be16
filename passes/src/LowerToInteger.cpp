/// lower-to-integer: QDQ graph → integer layers (lib/quant's IntegerNet), the
/// one integer semantics of DESIGN.md §3.
///
/// Requires: a quantized (QDQ) graph — the output of `marsc train` or of the
/// quantize pass. A Softmax/LogSoftmax producing the graph output is dropped
/// (it does not change the predicted class; the program outputs logits). Any
/// op the chip cannot run is an error naming the node and what to do.
#include "mars/passes/Passes.h"
#include "mars/quant/Lower.h"

namespace mars::passes {

Expected<bool> runLowerToInteger(CompileState &state,
                                 const CompileContext &context) {
  if (state.net)
    return false;
  quant::LowerOptions options;
  options.powerOfTwoScales = context.options.powerOfTwoScales;
  bool droppedSoftmax = false;
  Expected<quant::IntegerNet> net =
      quant::lowerToIntegerForChip(state.graph, options, &droppedSoftmax);
  if (droppedSoftmax)
    state.count("lower-to-integer", "final Softmax dropped (argmax unchanged)",
                1);
  if (!net)
    return net.error();
  state.net = net.take();
  state.fusedInto.assign(state.net->layers.size(), -1);
  int64_t convs = 0;
  for (const quant::IntLayer &l : state.net->layers)
    convs += l.op == quant::IntOp::Conv;
  state.count("lower-to-integer", "integer layers",
              int64_t(state.net->layers.size()));
  state.count("lower-to-integer", "Conv/Gemm layers", convs);
  return true;
}

} // namespace mars::passes
