// Pareto fronts: the spec parser and the O(n^2) dominance test (sweeps have
// tens to hundreds of points).
#include "mars/dse/Pareto.h"

#include <algorithm>

namespace mars::dse {

namespace {

std::string validNames() {
  std::string names;
  for (const MetricInfo &m : metricCatalogue()) {
    if (m.direction == Direction::None)
      continue;
    names += names.empty() ? "" : ", ";
    names += m.name;
  }
  return names;
}

/// `a` at least as good as `b` in every objective and better in one.
bool dominates(const std::vector<double> &a, const std::vector<double> &b,
               const std::vector<Direction> &directions) {
  bool better = false;
  for (size_t k = 0; k < a.size(); ++k) {
    const double x = directions[k] == Direction::Minimise ? -a[k] : a[k];
    const double y = directions[k] == Direction::Minimise ? -b[k] : b[k];
    if (x < y)
      return false;
    better = better || x > y;
  }
  return better;
}

} // namespace

Expected<std::vector<std::string>> parseParetoSpec(const std::string &spec) {
  std::vector<std::string> metrics;
  size_t begin = 0;
  while (true) {
    const size_t end = spec.find_first_of(":,", begin);
    const std::string name = spec.substr(begin, end - begin);
    const MetricInfo *info = findMetric(name);
    if (!info || info->direction == Direction::None)
      return makeError(
          "--pareto ", spec, ": '", name,
          "' is not a metric with a direction; valid: ", validNames());
    if (std::find(metrics.begin(), metrics.end(), name) != metrics.end())
      return makeError("--pareto ", spec, ": '", name, "' is named twice");
    metrics.push_back(name);
    if (end == std::string::npos)
      break;
    begin = end + 1;
  }
  if (metrics.size() < 2)
    return makeError("--pareto ", spec,
                     ": needs at least two metrics, e.g. acc:energy_per_image");
  return metrics;
}

std::vector<bool>
paretoOptimal(const std::vector<std::vector<std::optional<double>>> &values,
              const std::vector<Direction> &directions) {
  // Rows with every objective, as plain numbers; the rest stay out.
  std::vector<std::vector<double>> complete(values.size());
  std::vector<bool> has(values.size(), true);
  for (size_t i = 0; i < values.size(); ++i)
    for (const std::optional<double> &v : values[i]) {
      if (!v) {
        has[i] = false;
        break;
      }
      complete[i].push_back(*v);
    }
  std::vector<bool> optimal(values.size(), false);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!has[i])
      continue;
    optimal[i] = true;
    for (size_t j = 0; j < values.size() && optimal[i]; ++j)
      if (j != i && has[j] && dominates(complete[j], complete[i], directions))
        optimal[i] = false;
  }
  return optimal;
}

void markPareto(Table &table, const std::vector<std::string> &metrics) {
  std::vector<Direction> directions;
  for (const std::string &name : metrics) {
    const MetricInfo *info = findMetric(name);
    MARS_CHECK(info && info->direction != Direction::None,
               "unchecked Pareto metric");
    directions.push_back(info->direction);
  }
  std::vector<std::vector<std::optional<double>>> values;
  for (const Row &row : table.rows) {
    values.emplace_back();
    for (const std::string &name : metrics)
      values.back().push_back(row.metric(name));
  }
  const std::vector<bool> optimal = paretoOptimal(values, directions);
  for (size_t i = 0; i < table.rows.size(); ++i)
    table.rows[i].optimal = optimal[i];
  table.pareto = metrics;
}

std::vector<std::string> defaultPlotPareto(const Table &table) {
  std::vector<std::string> metrics = {"acc", "energy_per_image"};
  if (std::find(table.metrics.begin(), table.metrics.end(), "fps") !=
      table.metrics.end())
    metrics.push_back("fps");
  return metrics;
}

} // namespace mars::dse
