#pragma once
/// \file
/// Writing output files atomically: a temporary file beside the target, then
/// rename, so a failed or interrupted command leaves no partial output.
/// `AtomicFileSet` does the same for several files that succeed or fail
/// together (a table and its plot).
///
/// Either way a reader, or the next run after this process crashed or was
/// killed (even by SIGKILL), finds the old file or the new one, whole:
/// rename(2) replaces the name in one step. What a killed process can leave
/// is its temporary, `path.tmp.<pid>`, which `removeStaleTemporaries`
/// deletes. `Durability::Durable` also survives a crash of the machine
/// (checkpoints use it).

#include "mars/support/Error.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace mars {

/// How far a written file is made safe.
enum class Durability {
  /// Whole or absent for every reader and after any crash of this process;
  /// after a power loss the file system may hold an older version (or, on
  /// some, an empty one). Cheap: every output of marsc.
  Atomic,
  /// Also after a power loss: the temporary's data is fsync'ed before the
  /// rename, and the directory after it, so the new name never points at
  /// data that is not on disk. Costs two disk flushes (checkpoints).
  Durable,
};

/// The temporary `writeFileAtomic` and `AtomicFileSet` write beside `path`.
inline std::string atomicTemporaryPath(const std::string &path) {
  return path + ".tmp." + std::to_string(::getpid());
}

/// Writes `bytes` to `tmp` (the temporary for `path`, named in errors),
/// fsync'ed when durable; removes `tmp` again when that fails.
inline Status writeTemporary(const std::string &path, const std::string &tmp,
                             const std::string &bytes,
                             Durability durability = Durability::Atomic) {
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    return makeError(path, ": cannot write (",
                     std::string(std::strerror(errno)),
                     "; check the directory exists and is writable)");
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (ok && durability == Durability::Durable)
    ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return makeError(path, ": cannot write (disk full?)");
  }
  return Status::success();
}

/// fsync(2) of the directory holding `path`, so that a rename into it is on
/// disk. Best effort: file systems that cannot sync a directory (EINVAL)
/// have nothing to flush.
inline void syncParentDirectory(const std::string &path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return;
  ::fsync(fd);
  ::close(fd);
}

/// Writes `bytes` to `path` via `path.tmp.<pid>` and rename(2).
inline Status writeFileAtomic(const std::string &path, const std::string &bytes,
                              Durability durability = Durability::Atomic) {
  const std::string tmp = atomicTemporaryPath(path);
  MARS_TRY(writeTemporary(path, tmp, bytes, durability));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return makeError(path, ": cannot write (", std::string(std::strerror(err)),
                     ")");
  }
  if (durability == Durability::Durable)
    syncParentDirectory(path);
  return Status::success();
}

/// Removes the temporaries of `path` (`path.tmp.<pid>`) that processes no
/// longer running left behind, i.e. killed while writing; a live process's
/// temporary is left alone. Returns how many were removed.
inline int removeStaleTemporaries(const std::string &path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir =
      target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0)
      continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.empty() ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const long pid = std::strtol(digits.c_str(), nullptr, 10);
    // kill(pid, 0) fails with ESRCH only when no such process exists.
    if (pid == long(::getpid()) || ::kill(pid_t(pid), 0) == 0 || errno != ESRCH)
      continue;
    std::error_code removeError;
    removed += fs::remove(it->path(), removeError) ? 1 : 0;
  }
  return removed;
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
