#pragma once
/// \file
/// Deterministic text form of the IR, used by golden tests and
/// `--print-ir-after`.

#include "mars/ir/Graph.h"

#include <string>

namespace mars::ir {

/// Prints the graph, e.g.
///
///   graph lenet5 {
///     input %x: f32[1,1,28,28]
///     init %conv1.w: f32[6,1,5,5]
///     %conv1.y: f32[1,6,28,28] = Conv(%x, %conv1.w, %conv1.b) {group=1, ...} # conv1
///     output %logits
///   }
///
/// Constants are summarised by type, not dumped. Attribute maps print in name
/// order and floats with %g, so the same graph always prints the same text.
std::string printGraph(const Graph &graph);

} // namespace mars::ir
