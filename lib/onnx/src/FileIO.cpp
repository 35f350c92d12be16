#include "Convert.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace mars::onnx::detail {

Expected<std::string> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return makeError(path,
                     ": cannot open: ", std::string(std::strerror(errno)));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad())
    return makeError(path, ": read error");
  return bytes.str();
}

} // namespace mars::onnx::detail
