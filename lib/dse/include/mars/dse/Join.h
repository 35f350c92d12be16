#pragma once
/// \file
/// Joining result files into one table with a row per design point.

#include "mars/dse/Results.h"
#include "mars/support/Error.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mars::dse {

/// One design point with every metric that joined it.
struct Row {
  Point point; ///< The point of the row's own (most downstream) file.
  std::map<std::string, double> metrics;
  /// The file each kind's metrics came from.
  std::map<ResultKind, std::string> sources;
  /// Pareto-optimal under the table's `pareto` metrics.
  bool optimal = false;

  const std::string *axis(const std::string &key) const {
    return point.find(key);
  }
  std::optional<double> metric(const std::string &name) const;
};

/// A design-space table: axis columns, metric columns, sorted rows.
struct Table {
  std::vector<std::string> axes;    ///< Union of the rows' axis names.
  std::vector<std::string> metrics; ///< Present in some row; catalogue order.
  std::vector<Row> rows;            ///< Sorted by axis values (compareValues).
  /// The metrics `markPareto` used; empty when no front was computed (then
  /// the table has no `pareto` column).
  std::vector<std::string> pareto;
};

/// Joins parsed results. The rows are the files of the most downstream
/// kind present (run, else compile, else train). A row takes, of each kind,
/// the file whose point is a subset of the row's with the most axes; a tie
/// between two files is an error naming both and the row, as are two row
/// files with the same point. Files that end up in no row are reported in
/// `warnings` (not an error). The result is the same for the files in any
/// order.
Expected<Table> joinResults(std::vector<ResultFile> files,
                            std::vector<std::string> &warnings);

/// Reads every path (readResult) and joins them. A path given twice counts
/// once.
Expected<Table> collectResults(const std::vector<std::string> &paths,
                               std::vector<std::string> &warnings);

} // namespace mars::dse
