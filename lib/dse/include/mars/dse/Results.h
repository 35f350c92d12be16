#pragma once
/// \file
/// Reading one marsc result (train, compile or run JSON): its kind, told by
/// content, its design point, told by its file name, and its metrics.

#include "mars/dse/Metrics.h"
#include "mars/dse/Point.h"
#include "mars/support/Error.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>

namespace mars::dse {

/// One result file, reduced to what a table needs.
struct ResultFile {
  std::string path;
  ResultKind kind = ResultKind::Run;
  Point point;
  /// Metric name -> value, for the metrics of `kind` the file has.
  std::map<std::string, double> metrics;
};

/// The kind of a parsed result: run has objects "functional" and "timing",
/// compile has "scheduled_cycles" and "statistics", train has "accuracy" and
/// "training_curve". Anything else is an error naming `path`.
Expected<ResultKind> detectKind(const nlohmann::json &root,
                                const std::string &path);

/// Reads the metrics of `kind` from `root`. Absent (or null) fields are
/// left out; a field of the wrong JSON type is an error naming the file and
/// the field.
Expected<std::map<std::string, double>>
extractMetrics(const nlohmann::json &root, ResultKind kind,
               const std::string &path);

/// Parses `text` as the content of the file `path`: kind, point, metrics.
/// Invalid JSON is an error naming the file, line and column.
Expected<ResultFile> parseResult(const std::string &path,
                                 const std::string &text);

/// Reads and parses the file `path`.
Expected<ResultFile> readResult(const std::string &path);

} // namespace mars::dse
