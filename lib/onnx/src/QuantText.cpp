#include "Convert.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace mars::onnx::detail {

namespace {
std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> parts;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep))
    parts.push_back(item);
  return parts;
}

bool parseInt(const std::string &s, int64_t &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  out = v;
  return errno == 0 && *end == '\0';
}

bool parseFloat(const std::string &s, float &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  out = std::strtof(s.c_str(), &end);
  return *end == '\0';
}
} // namespace

std::string encodeQuant(const ir::QuantParams &quant) {
  std::string out = "bits=" + std::to_string(quant.bits) +
                    ";axis=" + std::to_string(quant.axis) + ";scales=";
  for (size_t i = 0; i < quant.scales.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", double(quant.scales[i]));
    out += (i ? "," : "") + std::string(buf);
  }
  out += ";zero_points=";
  for (size_t i = 0; i < quant.zeroPoints.size(); ++i)
    out += (i ? "," : "") + std::to_string(quant.zeroPoints[i]);
  return out;
}

Expected<ir::QuantParams> decodeQuant(const std::string &text) {
  ir::QuantParams q;
  int seen = 0;
  for (const std::string &field : split(text, ';')) {
    size_t eq = field.find('=');
    if (eq == std::string::npos)
      return makeError("malformed quantization field '", field, "'");
    std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    int64_t n = 0;
    if (key == "bits" || key == "axis") {
      if (!parseInt(value, n) || n < -1 || n > 64)
        return makeError("bad quantization ", key, " '", value, "'");
      (key == "bits" ? q.bits : q.axis) = static_cast<int>(n);
    } else if (key == "scales") {
      for (const std::string &s : split(value, ',')) {
        float f = 0;
        if (!parseFloat(s, f))
          return makeError("bad quantization scale '", s, "'");
        if (!(f > 0) || !std::isfinite(f))
          return makeError("quantization scale '", s,
                           "' must be positive and finite");
        q.scales.push_back(f);
      }
    } else if (key == "zero_points") {
      for (const std::string &s : split(value, ',')) {
        if (!parseInt(s, n))
          return makeError("bad quantization zero point '", s, "'");
        q.zeroPoints.push_back(n);
      }
    } else {
      return makeError("unknown quantization field '", key, "'");
    }
    ++seen;
  }
  if (seen != 4)
    return makeError("quantization text '", text,
                     "' needs bits, axis, scales and zero_points");
  return q;
}

} // namespace mars::onnx::detail
