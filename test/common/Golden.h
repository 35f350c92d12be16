#pragma once
/// \file
/// Golden-file comparison for tests. A test never writes into the source
/// tree: it compares its text with `test/<relPath>` and always leaves what it
/// produced in `<build>/golden-actual/<relPath>`. `scripts/update-golden.sh`
/// (a separate, explicit command) copies those files over the goldens after
/// a reviewed change.

#include "Subprocess.h"

#include <cstdio>
#include <string>
#include <sys/stat.h>

namespace mars::test {

/// The expected text of golden file `relPath` (relative to `test/`), or ""
/// when it is missing; writes `actual` beside the build for update-golden.
inline std::string goldenText(const std::string &relPath,
                              const std::string &actual) {
  std::string out = std::string(MARS_BINARY_DIR) + "/golden-actual/" + relPath;
  // mkdir -p of the parent folders.
  for (size_t i = std::string(MARS_BINARY_DIR).size() + 1;
       (i = out.find('/', i)) != std::string::npos; ++i)
    ::mkdir(out.substr(0, i).c_str(), 0755);
  std::ofstream(out, std::ios::binary) << actual;
  return readWholeFile(std::string(MARS_SOURCE_DIR) + "/test/" + relPath);
}

} // namespace mars::test
