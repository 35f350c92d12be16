#pragma once
/// \file
/// The metric columns of a design-space table: which result kind each comes
/// from, where it sits in that JSON, and whether more or less is better.

#include <string>
#include <vector>

namespace mars::dse {

/// The three marsc results a sweep produces, upstream to downstream.
enum class ResultKind { Train, Compile, Run };

/// "train", "compile" or "run".
const char *kindName(ResultKind kind);

/// Which way a metric improves; `None` for counts that are not objectives.
enum class Direction { None, Maximise, Minimise };

/// One metric column.
struct MetricInfo {
  const char *name;    ///< Column name, e.g. "energy_per_image".
  ResultKind kind;     ///< The result it is read from.
  Direction direction; ///< For Pareto fronts.
  const char *source;  ///< The JSON field, for help texts, e.g.
                       ///< "timing.energy.per_image_uj".
};

/// Every metric column in table order: train, then compile, then run.
/// Wall-clock times are deliberately absent: they differ from run to run and
/// would make tables of the same sweep differ.
const std::vector<MetricInfo> &metricCatalogue();

/// The metric called `name`, or nullptr.
const MetricInfo *findMetric(const std::string &name);

} // namespace mars::dse
