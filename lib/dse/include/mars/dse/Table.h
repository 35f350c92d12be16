#pragma once
/// \file
/// A design-space table as CSV, Markdown, aligned text or JSON. Every format
/// has the same columns: axes, metrics, then `pareto` (1/0) when a front was
/// computed; the same table always gives the same bytes.

#include "mars/dse/Join.h"

#include <string>
#include <vector>

namespace mars::dse {

/// Axis names, metric names, then "pareto" when the table has a front.
std::vector<std::string> columnNames(const Table &table);

/// A metric value as text: integers as integers ("2239"), other values with
/// %.6g ("0.532095").
std::string formatNumber(double value);

/// CSV with a header row, "\n" line ends and RFC 4180 quoting of cells that
/// contain a comma, a quote or a line break. Empty cells for absent values.
std::string formatCsv(const Table &table);

/// A GitHub Markdown table (numbers right-aligned, '|' escaped).
std::string formatMarkdown(const Table &table);

/// Aligned columns for a terminal; absent values are "-".
std::string formatText(const Table &table);

/// {"columns": [...], "rows": [{column: value, ...}], "pareto": [metrics] or
/// null}; axis values are strings, metrics numbers, absent values null.
std::string formatJson(const Table &table);

} // namespace mars::dse
