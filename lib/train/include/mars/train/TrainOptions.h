#pragma once
/// \file
/// Options of `marsc train`, with validation that reports every bad value.
/// No LibTorch here, so the CLI can parse and validate without it.

#include "mars/arch/ArchSpec.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::train {

/// Which stages to run (DESIGN: float → QAT → group sparsity → fine-tune).
struct Stages {
  bool floatTraining = true;
  bool qat = true;
  bool sparsity = true;
};

struct TrainOptions {
  // Model and data.
  std::string modelPath;              ///< Empty: the built-in lenet5.
  bool pretrained = false;            ///< Skip float training.
  std::string data = "fashion-mnist"; ///< Dataset spec (lib/data).
  std::string normalization = "none"; ///< none (x = p/255) or meanstd.
  bool augment = false;               ///< Random crop + flip (CIFAR).
  int64_t limitTrain = 0;             ///< Use only the first N train images.
  int64_t limitTest = 0;              ///< Use only the first N test images.

  // Optimisation.
  int floatEpochs = 8;
  int qatEpochs = 3;
  int pruneEpochs = 3;    ///< Gradual group pruning.
  int finetuneEpochs = 4; ///< Fine-tuning with the mask fixed.
  int freezeBnAfter = 1;  ///< QAT epochs with batch statistics.
  int batchSize = 128;
  double learningRate = 0.05; ///< Float stage; later stages use lrScale ×.
  double laterLrScale = 0.2;
  std::string schedule = "cosine"; ///< cosine or step.
  double weightDecay = 5e-4;
  std::string optimizer = "sgd"; ///< sgd (momentum) or adam.
  double momentum = 0.9;
  uint64_t seed = 0;
  int threads = 0; ///< 0: all cores.

  // Quantization.
  int wbits = 4;
  int abits = 4;
  int firstLastBits = 8;
  bool powerOfTwoScales = false;

  // Sparsity.
  double sparsity = 0.5;   ///< Target fraction of all-zero CIM groups.
  double groupLasso = 0.0; ///< Group-lasso strength (0: off).
  arch::ArchSpec arch = arch::defaultArch();
  /// When the arch's ADC saturates, QAT computes through it (a
  /// straight-through gradient); false trains as if it were exact, for
  /// comparison. The integer evaluation uses the arch's ADC either way.
  bool adcInLoop = true;

  Stages stages;

  // Output.
  std::string output = "compressed.onnx";
  std::string checkpointDir; ///< Default: <output>.ckpt/
  std::string resume;        ///< Checkpoint to continue from.
  /// Also checkpoint after every this many optimizer steps (0: only at the
  /// end of each epoch), so that a crash loses at most that many steps.
  int64_t checkpointEvery = 0;
  std::string saveFloat; ///< Also write the float model here.
  bool json = false;
  bool progress = true; ///< Progress lines (a bar on a terminal).

  // Distributed data parallel (c10d + Gloo).
  int worldSize = 1;
  int rank = 0;
  std::string master = "127.0.0.1:29500";
  /// Test hook: every rank also writes <checkpointDir>/last.rank<R>.pt, so
  /// that tests can compare the ranks' weights.
  bool saveRankCheckpoints = false;

  /// Every invalid option, one message each ("--wbits must be in 2..8, got
  /// 9"). Empty when valid.
  std::vector<std::string> validate() const;
  /// validate() as one error: every message, joined by "; ".
  Status check() const;
  /// The report path: output with ".onnx" replaced by ".report.json".
  std::string reportPath() const;
  /// The checkpoint directory actually used.
  std::string checkpointDirectory() const;
};

/// The footer of `marsc train --help`: what the stages do and what a
/// checkpoint guarantees (kept here, beside the options and the trainer
/// that must keep it true).
const char *helpFooter();

/// The stages `--stages` names (any of float, qat, sparsity, each at most
/// once in effect); an empty list means all of them. An unknown name is an
/// error that lists the known ones.
Expected<Stages> parseStages(const std::vector<std::string> &names);

/// Which of the distributed settings the command line gave.
struct DistributedFlags {
  bool worldSize = false, rank = false, master = false;
};

/// Fills in what the command line did not give from the variables
/// torchrun and Slurm wrappers set: WORLD_SIZE, RANK, and MASTER_ADDR with
/// MASTER_PORT (both needed).
void applyDistributedEnvironment(TrainOptions &options,
                                 const DistributedFlags &given);

/// Completes `options` the way `marsc train` does before it loads anything:
/// the distributed environment, the arch (`--arch`, lib/arch's
/// loadArchOrDefault), `--stages` when given (parseStages), then check().
/// The first error is returned, in that order.
Status completeOptions(TrainOptions &options, const std::string &archPath,
                       const std::vector<std::string> &stages,
                       const DistributedFlags &given);

} // namespace mars::train
