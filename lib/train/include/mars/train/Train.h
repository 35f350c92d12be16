#pragma once
/// \file
/// `marsc train`: float training, quantization-aware training with BN folded
/// into the weights, and CIM-group sparsity, on LibTorch. This header does
/// not include LibTorch, so the CLI compiles without it.

#include "mars/data/Dataset.h"
#include "mars/ir/Graph.h"
#include "mars/support/Error.h"
#include "mars/train/TrainOptions.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mars::train {

/// One finished epoch.
struct EpochRecord {
  std::string stage; ///< float, qat, prune, finetune.
  int epoch = 0;     ///< Within the stage, from 1.
  double loss = 0, trainAccuracy = 0, testAccuracy = 0;
  double learningRate = 0;
  double groupSparsity = 0; ///< Fraction of CIM groups masked to zero.
  double seconds = 0, imagesPerSecond = 0;
};

/// Live progress within an epoch.
struct Progress {
  std::string stage;
  int epoch = 0, epochs = 0;
  int64_t step = 0, steps = 0;
  double loss = 0, accuracy = 0, imagesPerSecond = 0, etaSeconds = 0;
};

/// Per weighted layer of the compressed model.
struct LayerSummary {
  std::string name;
  int weightBits = 0, inputBits = 0;
  int64_t groups = 0, zeroGroups = 0;
  int64_t denseWeightBits = 0;  ///< Every weight at its bit width.
  int64_t storedWeightBits = 0; ///< Non-zero groups only.
  int64_t indexBits = 0; ///< Index codes: one bit per row group per partition.
};

struct TrainResult {
  ir::Graph compressed;
  /// The float model after the float stage (trained weights and BN), for
  /// --save-float; empty when no float stage ran in this invocation.
  std::optional<ir::Graph> floatModel;
  int64_t testCount = 0;
  int64_t floatCorrect = 0;   ///< Float model after the float stage.
  int64_t qatCorrect = 0;     ///< Fake-quantized float evaluation (info).
  int64_t integerCorrect = 0; ///< The integer contract (DESIGN.md §3).
  double groupSparsity = 0;   ///< Zero CIM groups / all groups.
  std::vector<EpochRecord> curve;
  std::vector<LayerSummary> layers;
  double seconds = 0;
  int threads = 0;
};

/// Receives progress; the CLI renders it.
class TrainObserver {
public:
  virtual ~TrainObserver() = default;
  virtual void onProgress(const Progress &) {}
  virtual void onEpoch(const EpochRecord &) {}
  virtual void onMessage(const std::string &) {}
};

/// Set from a SIGINT handler: the trainer saves a checkpoint after the
/// current step and returns an error that says how to resume.
void requestInterrupt();
bool interruptRequested();
/// Test hook: behave as if interrupted after this many optimizer steps
/// (0: never).
void setInterruptAfterSteps(int64_t steps);

/// Trains `model` and returns the compressed model with its evaluation.
Expected<TrainResult> runTraining(const TrainOptions &options,
                                  const ir::Graph &model,
                                  const data::Dataset &trainSet,
                                  const data::Dataset &testSet,
                                  TrainObserver &observer);

/// The report written next to the compressed model, as JSON text.
std::string reportJson(const TrainOptions &options, const TrainResult &result);

/// The bytes of a model's file: lib/onnx's exportModel in `marsc train`
/// (lib/train does not depend on lib/onnx).
using ModelWriter = std::function<Expected<std::string>(const ir::Graph &)>;

/// Writes what `marsc train` publishes, all the files or none: the float
/// model (`--save-float`, an error when no float stage ran in this
/// invocation), the report (reportPath) and the compressed model (output),
/// the compressed model renamed into place last, so that its presence means
/// the set is complete (a Makefile whose target it is never sees it without
/// its report). Temporaries that a run killed while writing them left are
/// removed first. Returns the report's JSON text.
Expected<std::string> writeOutputs(const TrainOptions &options,
                                   const TrainResult &result,
                                   const ModelWriter &writeModel);

/// What `marsc train` prints when done: float and integer accuracy (with
/// the bits and the zero CIM groups), the change in points, the files
/// written and the time.
std::string summaryText(const TrainOptions &options, const TrainResult &result);

} // namespace mars::train
