// `marsc train` inside `marsc`: hands the whole command line to the
// `marsc-train` executable beside this one. LibTorch takes about a second to
// load and register its operators, and every other subcommand (the ones
// Makefile pipelines call hundreds of times) must not pay that, so only
// marsc-train links it. exec keeps the process: signals (Ctrl-C saves a
// checkpoint), standard streams and the exit code are marsc-train's own.
#include "Commands.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
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
  // LibTorch's OpenMP threads spin for a while (GNU libgomp: 300,000 polls)
  // after each parallel region before they sleep. On a busy machine (a
  // `make -j` sweep, ctest -j, a second training run) the spinning threads
  // steal the cores the working ones need: a short lenet5 run beside one
  // other training run took 16.5 s with spinning and 3.8 s without, the
  // model byte-identical. libgomp reads its policy once, when it is loaded,
  // so it is set here, before marsc-train starts; a user's own setting wins.
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT"))
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  std::vector<char *> args(argv, argv + argc);
  args.push_back(nullptr);
  ::execv(exe.c_str(), args.data());
  // Only reached when exec failed.
  if (errno == ENOENT)
    return makeError("marsc train needs ", exe,
                     ", which is built only with LibTorch (libtorch-dev); "
                     "this build has no training (-DMARS_WITH_TRAIN=OFF or "
                     "LibTorch missing)");
  return makeError("cannot start ", exe, ": ",
                   std::string(std::strerror(errno)));
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
