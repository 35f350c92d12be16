#pragma once
/// \file
/// The marsc subcommands. Each add*Command registers its CLI11 options on the
/// top-level app and returns the action main() runs once parsing succeeded,
/// so that parse errors (exit 2) and user errors (exit 1) stay apart.

#include "mars/support/Error.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace mars::cli {

/// A registered subcommand and the action it runs after a successful parse.
struct Command {
  CLI::App *app;
  std::function<Status()> run;
};

/// `marsc inspect model.onnx`: per-layer shapes, parameters and MACs.
Command addInspectCommand(CLI::App &parent);
/// `marsc eval model.onnx --input x.npy`: runs the reference interpreter.
Command addEvalCommand(CLI::App &parent);
/// `marsc zoo NAME -o model.onnx`: writes a seeded standard model.
Command addZooCommand(CLI::App &parent);
/// `marsc train`: float training, QAT with BN folding, CIM-group sparsity.
/// Only in the `marsc-train` executable, the one that links LibTorch.
Command addTrainCommand(CLI::App &parent);
/// The `train` entry of `marsc --help` in `marsc` itself.
Command addTrainLauncher(CLI::App &parent);
/// Replaces this process with `marsc-train` and the same arguments; returns
/// only on failure (marsc-train missing: a build without LibTorch).
Status execTrain(int argc, char **argv);
/// `marsc arch [--arch a.json]`: the effective accelerator description.
Command addArchCommand(CLI::App &parent);
/// `marsc compile model.onnx -o program.bin`: the pass pipeline.
Command addCompileCommand(CLI::App &parent);
/// `marsc disasm program.bin`: the program as text.
Command addDisasmCommand(CLI::App &parent);
/// `marsc run program.bin`: the simulator (results, cycles, energy).
Command addRunCommand(CLI::App &parent);
/// `marsc verify model.onnx program.bin`: QDQ, integer and chip per layer.
Command addVerifyCommand(CLI::App &parent);
/// `marsc collect RESULTS... -o table.csv`: a sweep's results as one table.
Command addCollectCommand(CLI::App &parent);

} // namespace mars::cli
