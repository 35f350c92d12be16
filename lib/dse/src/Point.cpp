// Design points from result file names, and the value order rows sort by.
#include "mars/dse/Point.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace mars::dse {

namespace {

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool isKey(const std::string &key) {
  if (key.empty() || key[0] < 'a' || key[0] > 'z')
    return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
      return false;
  return true;
}

/// Splits `stem` into key-value axes; false when it is not of that form.
bool splitAxes(const std::string &stem,
               std::vector<std::pair<std::string, std::string>> &axes) {
  size_t begin = 0;
  while (true) {
    const size_t end = stem.find('_', begin);
    const std::string token = stem.substr(
        begin, end == std::string::npos ? std::string::npos : end - begin);
    const size_t dash = token.find('-');
    if (dash == std::string::npos || dash + 1 == token.size())
      return false;
    std::string key = token.substr(0, dash);
    if (!isKey(key))
      return false;
    for (const auto &axis : axes)
      if (axis.first == key)
        return false; // the same key twice: no single value
    axes.emplace_back(std::move(key), token.substr(dash + 1));
    if (end == std::string::npos)
      return true;
    begin = end + 1;
  }
}

/// The value as a finite number, when all of it is one (no hex, inf, nan).
bool parseNumber(const std::string &s, double &value) {
  if (s.empty() || s.find_first_not_of("0123456789+-.eE") != std::string::npos)
    return false;
  char *end = nullptr;
  value = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(value);
}

} // namespace

const std::string *Point::find(const std::string &key) const {
  for (const auto &axis : axes)
    if (axis.first == key)
      return &axis.second;
  return nullptr;
}

Point parsePoint(const std::string &path) {
  Point point;
  const size_t slash = path.find_last_of('/');
  point.stem = slash == std::string::npos ? path : path.substr(slash + 1);
  if (endsWith(point.stem, ".json"))
    point.stem.resize(point.stem.size() - 5);
  for (const char *suffix : {".run", ".compile", ".report", ".train"}) {
    if (endsWith(point.stem, suffix)) {
      point.stem.resize(point.stem.size() - std::strlen(suffix));
      break;
    }
  }
  if (!splitAxes(point.stem, point.axes))
    point.axes = {{"point", point.stem}};
  return point;
}

bool isSubset(const Point &part, const Point &whole) {
  for (const auto &axis : part.axes) {
    const std::string *value = whole.find(axis.first);
    if (!value || *value != axis.second)
      return false;
  }
  return true;
}

bool samePoint(const Point &a, const Point &b) {
  return a.axes.size() == b.axes.size() && isSubset(a, b);
}

int compareValues(const std::string &a, const std::string &b) {
  double x = 0, y = 0;
  const bool xNumber = parseNumber(a, x), yNumber = parseNumber(b, y);
  if (xNumber != yNumber)
    return xNumber ? -1 : 1;
  if (xNumber && x != y)
    return x < y ? -1 : 1;
  return a.compare(b);
}

} // namespace mars::dse
