#include "Convert.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mars::onnx::detail {

Expected<std::string> readFile(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return makeError(path,
                     ": cannot open: ", std::string(std::strerror(errno)));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return makeError(path,
                     ": cannot stat: ", std::string(std::strerror(errno)));
  if (S_ISDIR(st.st_mode))
    return makeError(path, ": is a directory");
  // Regular files are read in one go into a buffer of their size (a 47 MB
  // model streamed through an ostringstream was regrown and copied several
  // times); pipes such as /dev/stdin grow the buffer as they go.
  std::string bytes;
  bytes.resize(S_ISREG(st.st_mode) && st.st_size > 0
                   ? static_cast<size_t>(st.st_size)
                   : size_t(1) << 16);
  size_t filled = 0;
  for (;;) {
    if (filled == bytes.size())
      bytes.resize(bytes.size() * 2);
    const ssize_t got =
        ::read(fd, bytes.data() + filled, bytes.size() - filled);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      return makeError(path,
                       ": read error: ", std::string(std::strerror(errno)));
    }
    if (got == 0)
      break;
    filled += static_cast<size_t>(got);
  }
  bytes.resize(filled);
  return bytes;
}

} // namespace mars::onnx::detail
