#pragma once
/// \file
/// Pareto-optimal design points over a chosen set of metrics.

#include "mars/dse/Join.h"
#include "mars/dse/Metrics.h"
#include "mars/support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace mars::dse {

/// Parses "acc:energy_per_image" or "acc:energy_per_image,fps": metric
/// names separated by ':' or ','. At least two, each a known metric with a
/// direction, none twice; errors list the valid names.
Expected<std::vector<std::string>> parseParetoSpec(const std::string &spec);

/// `values[row][k]` is row's value of objective k (absent: nullopt),
/// `directions[k]` its direction (Maximise or Minimise). A row is optimal
/// when no other row is at least as good in every objective and strictly
/// better in one; rows missing any objective are never optimal and never
/// dominate. Equal rows are all optimal.
std::vector<bool>
paretoOptimal(const std::vector<std::vector<std::optional<double>>> &values,
              const std::vector<Direction> &directions);

/// Sets `table.pareto = metrics` and every row's `optimal`. The metrics must
/// have been checked (parseParetoSpec).
void markPareto(Table &table, const std::vector<std::string> &metrics);

/// The front a plot shows when none was asked for: acc and
/// energy_per_image, plus fps when some row has it.
std::vector<std::string> defaultPlotPareto(const Table &table);

} // namespace mars::dse
