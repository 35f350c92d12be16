#pragma once
/// \file
/// printf into a std::string, for the text reports (disassembly, compile
/// report, model report) whose columns read best as printf formats.

#include <cstdarg>
#include <cstdio>
#include <string>

namespace mars {

/// vprintf(`format`, `args`) as a string, however long.
inline std::string vformatString(const char *format, va_list args) {
  char buf[512];
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(buf, sizeof buf, format, args);
  if (n < 0) {
    va_end(again);
    return {};
  }
  if (n < int(sizeof buf)) {
    va_end(again);
    return std::string(buf, size_t(n));
  }
  std::string big(size_t(n) + 1, '\0');
  std::vsnprintf(big.data(), big.size(), format, again);
  va_end(again);
  big.resize(size_t(n));
  return big;
}

/// printf(`format`, ...) as a string, however long.
__attribute__((format(printf, 1, 2))) inline std::string
formatString(const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::string s = vformatString(format, args);
  va_end(args);
  return s;
}

} // namespace mars
