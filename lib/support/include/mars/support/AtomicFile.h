#pragma once
/// \file
/// Writing output files atomically: a temporary file beside the target, then
/// rename, so a failed or interrupted command leaves no partial output.
/// `AtomicFileSet` does the same for several files that succeed or fail
/// together (a table and its plot).

#include "mars/support/Error.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

namespace mars {

/// The temporary `writeFileAtomic` and `AtomicFileSet` write beside `path`.
inline std::string atomicTemporaryPath(const std::string &path) {
  return path + ".tmp." + std::to_string(::getpid());
}

/// Writes `bytes` to `tmp` (the temporary for `path`, named in errors);
/// removes `tmp` again when that fails.
inline Status writeTemporary(const std::string &path, const std::string &tmp,
                             const std::string &bytes) {
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    return makeError(path, ": cannot write (", std::string(std::strerror(errno)),
                     "; check the directory exists and is writable)");
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return makeError(path, ": cannot write (disk full?)");
  }
  return Status::success();
}

/// Writes `bytes` to `path` via `path.tmp.<pid>` and rename(2).
inline Status writeFileAtomic(const std::string &path,
                              const std::string &bytes) {
  const std::string tmp = atomicTemporaryPath(path);
  MARS_TRY(writeTemporary(path, tmp, bytes));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return makeError(path, ": cannot write (", std::string(std::strerror(err)), ")");
  }
  return Status::success();
}

/// Several output files published together: `add` writes each one to its
/// temporary, `commit` renames them all only after every one was written.
/// Whatever was not committed is removed by the destructor, so a command that
/// fails half-way leaves neither the files nor their temporaries. (The
/// temporaries sit beside their targets, so a rename fails only when the
/// directory itself changes under us; then the files already renamed by this
/// commit are removed too.)
class AtomicFileSet {
public:
  AtomicFileSet() = default;
  AtomicFileSet(const AtomicFileSet &) = delete;
  AtomicFileSet &operator=(const AtomicFileSet &) = delete;
  ~AtomicFileSet() {
    for (const Entry &e : entries_)
      std::remove(e.tmp.c_str());
  }

  /// Writes `bytes` to the temporary of `path`; `path` itself is untouched
  /// until `commit`. Two adds of the same path are an error.
  Status add(const std::string &path, const std::string &bytes) {
    for (const Entry &e : entries_)
      if (e.path == path)
        return makeError(path, ": named as two different outputs");
    Entry entry{path, atomicTemporaryPath(path)};
    MARS_TRY(writeTemporary(path, entry.tmp, bytes));
    entries_.push_back(std::move(entry));
    return Status::success();
  }

  /// Renames every temporary onto its target, in the order added.
  Status commit() {
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (std::rename(entries_[i].tmp.c_str(), entries_[i].path.c_str()) == 0)
        continue;
      const std::string failed = entries_[i].path;
      const std::string why = std::strerror(errno);
      for (size_t j = 0; j < i; ++j)
        std::remove(entries_[j].path.c_str());
      for (size_t j = i; j < entries_.size(); ++j)
        std::remove(entries_[j].tmp.c_str());
      entries_.clear();
      return makeError(failed, ": cannot write (", why, ")");
    }
    entries_.clear();
    return Status::success();
  }

private:
  struct Entry {
    std::string path, tmp;
  };
  std::vector<Entry> entries_;
};

} // namespace mars
