#pragma once
/// \file
/// The one list of ops the toolchain accepts: what the chip runs. Shared by
/// the compiler's quantize (which sees float models first) and lower-to-integer
/// (which sees models from `marsc train`) and by `marsc train` itself, so
/// that all three stop at an unsupported op with the same advice
/// (test/train/OpSupportTest.cpp walks Ops.def and checks they agree).
#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

namespace mars::quant {

/// True when the chip runs `op` (some only in the forms lowerToInteger
/// accepts: Sub/Mul as input normalisation, channel Concat); the one list.
bool chipRunsOp(ir::OpKind op);

/// An error naming the first node the chip cannot run and what to do
/// instead. A Softmax/LogSoftmax that produces the graph output is allowed
/// (lower-to-integer drops it: the predicted class does not change).
Status checkChipOps(const ir::Graph &g);

/// Removes a final Softmax (see checkChipOps); true when one was removed.
bool dropFinalSoftmax(ir::Graph &g);

} // namespace mars::quant
