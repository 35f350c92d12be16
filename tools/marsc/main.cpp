// marsc: one subcommand per file (see Commands.h). The same main() builds
// two executables: `marsc`, with every subcommand but train, and
// `marsc-train` (MARS_TRAIN_ONLY), the only one that links LibTorch, to
// which `marsc train ...` is handed over (TrainLauncher.cpp).
#include "Commands.h"

#include "mars/support/HeapPages.h"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {
/// Error messages are one line by contract (tests and scripts grep them).
std::string oneLine(std::string message) {
  for (char &c : message)
    if (c == '\n' || c == '\r')
      c = ' ';
  return message;
}

int userError(const std::string &message) {
  std::fprintf(stderr, "marsc: error: %s\n", oneLine(message).c_str());
  return 1;
}
} // namespace

int main(int argc, char **argv) {
#ifndef MARS_TRAIN_ONLY
  if (argc >= 2 && std::string(argv[1]) == "train") {
    mars::Status failed = mars::cli::execTrain(argc, argv);
    return userError(failed.error().message());
  }
#endif
  // Model-sized buffers on huge pages (HeapPages.h), where page faults are
  // dear: halves a 224×224 ResNet-18 compile, and in marsc-train keeps
  // LibTorch's freed activations for reuse instead of faulting fresh pages
  // in every step (bench_train_step on resnet20 with the equivalent glibc
  // malloc tunables: 0.49 M page faults → 0.19 M).
  mars::preferHugePagesForHeap();
  CLI::App app{"marsc: compiles ONNX CNNs for a MARS-style SRAM "
               "computing-in-memory accelerator."};
  app.footer("Run 'marsc COMMAND --help' for the options of one command.\n"
             "Exit codes: 0 success, 1 error in the model/data/options' "
             "values, 2 command-line usage error.");
  app.set_version_flag("--version", std::string("marsc ") + MARS_VERSION);
  app.require_subcommand(1);
#ifdef MARS_TRAIN_ONLY
  std::vector<mars::cli::Command> commands = {mars::cli::addTrainCommand(app)};
#else
  std::vector<mars::cli::Command> commands = {
      mars::cli::addInspectCommand(app), mars::cli::addEvalCommand(app),
      mars::cli::addZooCommand(app),     mars::cli::addTrainLauncher(app),
      mars::cli::addArchCommand(app),    mars::cli::addCompileCommand(app),
      mars::cli::addDisasmCommand(app),  mars::cli::addRunCommand(app),
      mars::cli::addVerifyCommand(app),  mars::cli::addCollectCommand(app),
  };
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    // --help and --version are "errors" with exit code 0.
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (const mars::cli::Command &command : commands) {
    if (!command.app->parsed())
      continue;
    try {
      mars::Status status = command.run();
      return status ? 0 : userError(status.error().message());
    } catch (const std::exception &e) {
      // Libraries return errors; anything thrown is a bug or out of memory.
      return userError(std::string("internal: ") + e.what());
    }
  }
  return 2;
}
