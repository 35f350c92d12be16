// `marsc train` inside `marsc`: hands the whole command line to the
// `marsc-train` executable beside this one. LibTorch takes about a second to
// load and register its operators, and every other subcommand (the ones
// Makefile pipelines call hundreds of times) must not pay that, so only
// marsc-train links it. exec keeps the process: signals (Ctrl-C saves a
// checkpoint), standard streams and the exit code are marsc-train's own.
#include "Commands.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

namespace mars::cli {

namespace {

/// The directory of the running executable, or "" when unknown.
std::string ownDirectory() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0)
    return "";
  std::string s(path, size_t(n));
  const size_t slash = s.rfind('/');
  return slash == std::string::npos ? "" : s.substr(0, slash);
}

} // namespace

std::string trainExecutable() { return ownDirectory() + "/marsc-train"; }

Status execTrain(int argc, char **argv) {
  const std::string exe = trainExecutable();
  std::vector<char *> args(argv, argv + argc);
  args.push_back(nullptr);
  ::execv(exe.c_str(), args.data());
  // Only reached when exec failed.
  if (errno == ENOENT)
    return makeError("marsc train needs ", exe,
                     ", which is built only with LibTorch (libtorch-dev); "
                     "this build has no training (-DMARS_WITH_TRAIN=OFF or "
                     "LibTorch missing)");
  return makeError("cannot start ", exe, ": ", std::string(std::strerror(errno)));
}

Command addTrainLauncher(CLI::App &parent) {
  // Listed in `marsc --help`; main() hands `marsc train ...` over before
  // parsing, so the options are marsc-train's.
  CLI::App *app = parent.add_subcommand(
      "train", "Train and compress a CNN: float, quantization-aware training "
               "with BN folded into the weights, CIM-group sparsity "
               "('marsc train --help' for its options).");
  app->allow_extras();
  app->prefix_command();
  return {app, [] {
            return makeError("marsc train must be the first word after marsc");
          }};
}

} // namespace mars::cli
