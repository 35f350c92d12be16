// The join: rows from the most downstream results, metrics from the most
// specific matching file of each kind, rows sorted by their axis values.
#include "mars/dse/Join.h"

#include <algorithm>

namespace mars::dse {

namespace {

std::string describe(const Point &point) {
  return "design point '" + point.stem + "'";
}

/// Orders rows by their values in `axes` order; a row without an axis
/// sorts before one with it. Points of rows are unique, so this is total.
bool rowLess(const Row &a, const Row &b, const std::vector<std::string> &axes) {
  for (const std::string &key : axes) {
    const std::string *x = a.axis(key), *y = b.axis(key);
    if (!x || !y) {
      if (x != y)
        return !x;
      continue;
    }
    if (int c = compareValues(*x, *y))
      return c < 0;
  }
  return false;
}

} // namespace

std::optional<double> Row::metric(const std::string &name) const {
  auto it = metrics.find(name);
  if (it == metrics.end())
    return std::nullopt;
  return it->second;
}

Expected<Table> joinResults(std::vector<ResultFile> files,
                            std::vector<std::string> &warnings) {
  // Everything below visits files in path order, so which file an error or
  // warning names first never depends on the order of the arguments.
  std::sort(
      files.begin(), files.end(),
      [](const ResultFile &a, const ResultFile &b) { return a.path < b.path; });
  Table table;
  if (files.empty())
    return table;
  ResultKind rowKind = ResultKind::Train;
  for (const ResultFile &f : files)
    rowKind = std::max(rowKind, f.kind);

  // One row per file of the row kind; two with the same point are an error.
  for (const ResultFile &f : files) {
    if (f.kind != rowKind)
      continue;
    for (const Row &row : table.rows)
      if (samePoint(row.point, f.point))
        return makeError(row.sources.at(rowKind), " and ", f.path,
                         ": both are the ", kindName(rowKind), " result of ",
                         describe(f.point));
    Row row;
    row.point = f.point;
    row.sources[rowKind] = f.path;
    table.rows.push_back(std::move(row));
  }

  // Each row takes, per kind, the matching file with the most axes.
  std::vector<bool> matched(files.size(), false), used(files.size(), false);
  for (Row &row : table.rows) {
    for (ResultKind kind :
         {ResultKind::Train, ResultKind::Compile, ResultKind::Run}) {
      const ResultFile *best = nullptr;
      size_t bestIndex = 0;
      for (size_t i = 0; i < files.size(); ++i) {
        const ResultFile &f = files[i];
        if (f.kind != kind || !isSubset(f.point, row.point))
          continue;
        matched[i] = true;
        if (best && f.point.axes.size() == best->point.axes.size())
          return makeError(best->path, " and ", f.path, ": both are the ",
                           kindName(kind), " result of ", describe(row.point),
                           " (equally specific names; make one name more "
                           "axes or remove one)");
        if (!best || f.point.axes.size() > best->point.axes.size()) {
          best = &f;
          bestIndex = i;
        }
      }
      if (!best)
        continue;
      used[bestIndex] = true;
      row.sources[kind] = best->path;
      for (const auto &metric : best->metrics)
        row.metrics.insert(metric);
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (used[i])
      continue;
    if (!matched[i])
      warnings.push_back(files[i].path + ": joins no row (no " +
                         kindName(rowKind) + " result's design point " +
                         "contains '" + files[i].point.stem + "')");
    else
      warnings.push_back(files[i].path + ": unused (a more specific " +
                         kindName(files[i].kind) +
                         " result matched every row it fits)");
  }

  // Axis columns in first-seen order over rows sorted by stem, then the
  // rows sorted by their values in that column order.
  std::sort(
      table.rows.begin(), table.rows.end(),
      [](const Row &a, const Row &b) { return a.point.stem < b.point.stem; });
  for (const Row &row : table.rows)
    for (const auto &axis : row.point.axes)
      if (std::find(table.axes.begin(), table.axes.end(), axis.first) ==
          table.axes.end())
        table.axes.push_back(axis.first);
  for (const std::string &key : table.axes)
    if (key == "pareto" || findMetric(key))
      for (const Row &row : table.rows)
        if (row.axis(key))
          return makeError(row.sources.at(rowKind), ": axis '", key,
                           "' has the name of a metric column; rename it");
  std::sort(
      table.rows.begin(), table.rows.end(),
      [&](const Row &a, const Row &b) { return rowLess(a, b, table.axes); });
  for (const MetricInfo &info : metricCatalogue())
    for (const Row &row : table.rows)
      if (row.metrics.count(info.name)) {
        table.metrics.push_back(info.name);
        break;
      }
  return table;
}

Expected<Table> collectResults(const std::vector<std::string> &paths,
                               std::vector<std::string> &warnings) {
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<ResultFile> files;
  for (const std::string &path : sorted) {
    auto file = readResult(path);
    if (!file)
      return file.error();
    files.push_back(file.take());
  }
  return joinResults(std::move(files), warnings);
}

} // namespace mars::dse
