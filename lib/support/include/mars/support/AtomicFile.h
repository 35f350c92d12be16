#pragma once
/// \file
/// Writing output files atomically: a temporary file beside the target, then
/// rename, so a failed or interrupted command leaves no partial output.

#include "mars/support/Error.h"

#include <cstdio>
#include <string>
#include <unistd.h>

namespace mars {

/// Writes `bytes` to `path` via `path.tmp.<pid>` and rename(2).
inline Status writeFileAtomic(const std::string &path,
                              const std::string &bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    return makeError(path, ": cannot write (check the directory exists and is "
                           "writable)");
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return makeError(path, ": cannot write");
  }
  return Status::success();
}

} // namespace mars
