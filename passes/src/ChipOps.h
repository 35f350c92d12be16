#pragma once
// Which ONNX ops the chip can run, shared by quantize (which sees float
// models first) and legalize (which sees models from `marsc train`), so
// that both stop at an unsupported op with the same advice.
#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

namespace mars::passes {

/// An error naming the first node the chip cannot run and what to do
/// instead. A Softmax/LogSoftmax that produces the graph output is allowed
/// (legalize drops it: the predicted class does not change).
Status checkChipOps(const ir::Graph &g);

/// Removes a final Softmax (see checkChipOps); true when one was removed.
bool dropFinalSoftmax(ir::Graph &g);

} // namespace mars::passes
