#pragma once
/// \file
/// Text for the SVG plots marsc writes (`marsc run --plot`'s layer report,
/// lib/dse's Pareto fronts): escaped strings and compact numbers.

#include <cstdio>
#include <string>

namespace mars {

/// `s` with the five XML special characters as entities, safe inside an
/// element or an attribute value.
inline std::string escapeXml(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default: out += c;
    }
  }
  return out;
}

/// A coordinate or size in an SVG attribute: 4 significant digits (%.4g).
inline std::string svgNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

} // namespace mars
