#pragma once
/// \file
/// Inputs and output summaries for running a graph by hand (`marsc eval`):
/// seeded random inputs, and per-output min/max/mean with the top-5 classes.

#include "mars/ir/Graph.h"
#include "mars/ir/Tensor.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mars::interp {

/// One seeded input per graph input, in order: floats uniform in [0, 1),
/// integers uniform over [0, 127] (valid in every integer dtype). Float
/// images are the same as Random(seed).unitFloats(...) when the graph has
/// one input.
std::vector<ir::Tensor> randomInputs(const ir::Graph &graph, uint64_t seed);

/// min, max, mean and, for a [1, K] output, the top-5 (index, value),
/// largest first, ties by lower index.
struct OutputSummary {
  double min = 0, max = 0, mean = 0;
  std::vector<std::pair<int64_t, double>> top;
};

OutputSummary summarize(const ir::Tensor &t);

/// The text `marsc eval` prints: one line per output (name, type,
/// min/max/mean), its top-5 when it has one, then "time: X ms".
std::string formatOutputs(const ir::Graph &graph,
                          const std::vector<ir::Tensor> &outputs,
                          double millis);

} // namespace mars::interp
