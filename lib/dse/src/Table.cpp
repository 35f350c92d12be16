// Table formatting. Every format draws its cells from `cells`, so CSV,
// Markdown, text and JSON always agree on columns, order and numbers.
#include "mars/dse/Table.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

namespace mars::dse {

namespace {

/// The cells of one row as text; nullopt for an absent value.
std::vector<std::optional<std::string>> cells(const Table &table,
                                              const Row &row) {
  std::vector<std::optional<std::string>> out;
  for (const std::string &key : table.axes) {
    const std::string *value = row.axis(key);
    out.push_back(value ? std::optional<std::string>(*value) : std::nullopt);
  }
  for (const std::string &name : table.metrics) {
    std::optional<double> value = row.metric(name);
    out.push_back(value ? std::optional<std::string>(formatNumber(*value))
                        : std::nullopt);
  }
  if (!table.pareto.empty())
    out.push_back(std::string(row.optimal ? "1" : "0"));
  return out;
}

std::string csvCell(const std::string &s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos)
    return s;
  std::string out = "\"";
  for (char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string markdownCell(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

/// True for metric columns and `pareto`: right-aligned.
bool isNumeric(const Table &table, size_t column) {
  return column >= table.axes.size();
}

} // namespace

std::vector<std::string> columnNames(const Table &table) {
  std::vector<std::string> names = table.axes;
  names.insert(names.end(), table.metrics.begin(), table.metrics.end());
  if (!table.pareto.empty())
    names.push_back("pareto");
  return names;
}

std::string formatNumber(double value) {
  char buf[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%lld", (long long)value);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.6g", value);
  return buf;
}

std::string formatCsv(const Table &table) {
  std::string out;
  const std::vector<std::string> names = columnNames(table);
  for (size_t c = 0; c < names.size(); ++c)
    out += (c ? "," : "") + csvCell(names[c]);
  out += "\n";
  for (const Row &row : table.rows) {
    const auto rowCells = cells(table, row);
    for (size_t c = 0; c < rowCells.size(); ++c)
      out += (c ? "," : "") + csvCell(rowCells[c].value_or(""));
    out += "\n";
  }
  return out;
}

std::string formatMarkdown(const Table &table) {
  const std::vector<std::string> names = columnNames(table);
  std::string out = "|";
  for (const std::string &name : names)
    out += " " + markdownCell(name) + " |";
  out += "\n|";
  for (size_t c = 0; c < names.size(); ++c)
    out += isNumeric(table, c) ? "---:|" : "---|";
  out += "\n";
  for (const Row &row : table.rows) {
    out += "|";
    for (const auto &cell : cells(table, row))
      out += " " + markdownCell(cell.value_or("")) + " |";
    out += "\n";
  }
  return out;
}

std::string formatText(const Table &table) {
  const std::vector<std::string> names = columnNames(table);
  std::vector<std::vector<std::string>> grid = {names};
  for (const Row &row : table.rows) {
    grid.emplace_back();
    for (const auto &cell : cells(table, row))
      grid.back().push_back(cell.value_or("-"));
  }
  std::vector<size_t> width(names.size(), 0);
  for (const auto &line : grid)
    for (size_t c = 0; c < line.size(); ++c)
      width[c] = std::max(width[c], line[c].size());
  std::string out;
  for (const auto &line : grid) {
    std::string text;
    for (size_t c = 0; c < line.size(); ++c) {
      const std::string pad(width[c] - line[c].size(), ' ');
      text += c ? "  " : "";
      text += isNumeric(table, c) ? pad + line[c] : line[c] + pad;
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out += text + "\n";
  }
  return out;
}

std::string formatJson(const Table &table) {
  nlohmann::ordered_json j;
  j["columns"] = columnNames(table);
  j["rows"] = nlohmann::ordered_json::array();
  for (const Row &row : table.rows) {
    nlohmann::ordered_json r = nlohmann::ordered_json::object();
    for (const std::string &key : table.axes) {
      const std::string *value = row.axis(key);
      r[key] = value ? nlohmann::ordered_json(*value) : nullptr;
    }
    for (const std::string &name : table.metrics) {
      std::optional<double> value = row.metric(name);
      if (!value)
        r[name] = nullptr;
      else if (*value == std::floor(*value) && std::fabs(*value) < 1e15)
        r[name] = (long long)*value;
      else
        r[name] = *value;
    }
    if (!table.pareto.empty())
      r["pareto"] = row.optimal ? 1 : 0;
    j["rows"].push_back(std::move(r));
  }
  j["pareto"] = table.pareto.empty() ? nlohmann::ordered_json(nullptr)
                                     : nlohmann::ordered_json(table.pareto);
  return j.dump(2) + "\n";
}

} // namespace mars::dse
