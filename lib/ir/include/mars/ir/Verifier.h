#pragma once
/// \file
/// The IR verifier: structural and type checks, reporting every violation.

#include "mars/ir/Graph.h"

#include <string>
#include <vector>

namespace mars::ir {

/// Checks the graph and returns one message per violation, each with node
/// context ("node 'conv1' (Conv): input 1 is not defined"). Empty when the
/// graph is valid. Checks: ids in range; arity and attribute names/types
/// against Ops.def; every value defined exactly once and before use
/// (topological order); shapes non-negative; graph inputs not constant;
/// constants' data size matching their type; unique value names.
std::vector<std::string> verify(const Graph &graph);

/// verify() as a Status: all messages joined with "; ".
Status verifyStatus(const Graph &graph);

} // namespace mars::ir
