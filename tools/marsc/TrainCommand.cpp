// `marsc train`: thin wiring around mars::train::runTraining.
#include "Commands.h"

#include "mars/data/Dataset.h"
#include "mars/onnx/Export.h"
#include "mars/onnx/Import.h"
#include "mars/support/AtomicFile.h"
#include "mars/train/Train.h"
#include "mars/zoo/Zoo.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <unistd.h>

namespace mars::cli {

namespace {

struct TrainCli {
  train::TrainOptions options;
  std::string archPath;
  std::vector<std::string> stages;
  int64_t interruptAfter = 0; // hidden test hook
};

/// Renders progress on stderr: a redrawn bar on a terminal, one line per
/// epoch otherwise (logs stay readable).
class ConsoleObserver : public train::TrainObserver {
public:
  ConsoleObserver(bool enabled, bool quietStdout)
      : enabled_(enabled), tty_(::isatty(2) != 0), quiet_(quietStdout) {}

  void onProgress(const train::Progress &p) override {
    if (!enabled_ || !tty_)
      return;
    const int width = 24;
    int filled = int(double(p.step) / double(p.steps) * width);
    std::string bar(filled, '#');
    bar += std::string(width - filled, '.');
    std::fprintf(stderr,
                 "\r%-8s %d/%d [%s] %3d%%  %6.0f img/s  loss %.3f  acc "
                 "%5.1f%%  ETA %3.0fs ",
                 p.stage.c_str(), p.epoch, p.epochs, bar.c_str(),
                 int(100 * p.step / p.steps), p.imagesPerSecond, p.loss,
                 100 * p.accuracy, p.etaSeconds);
    std::fflush(stderr);
  }

  void onEpoch(const train::EpochRecord &r) override {
    if (!enabled_)
      return;
    std::fprintf(stderr,
                 "%s%-8s epoch %d: loss %.4f  train %.2f%%  test %.2f%%  "
                 "groups zero %.1f%%  lr %.4g  %.1fs (%.0f img/s)\n",
                 tty_ ? "\r" : "", r.stage.c_str(), r.epoch, r.loss,
                 100 * r.trainAccuracy, 100 * r.testAccuracy,
                 100 * r.groupSparsity, r.learningRate, r.seconds,
                 r.imagesPerSecond);
  }

  void onMessage(const std::string &m) override {
    if (enabled_)
      std::fprintf(stderr, "%s%s\n", tty_ ? "\r" : "", m.c_str());
  }

private:
  bool enabled_, tty_, quiet_;
};

extern "C" void onSigint(int) { train::requestInterrupt(); }

/// Distributed settings from the usual variables when no flag gave them.
void applyEnvironment(train::TrainOptions &o, bool worldGiven, bool rankGiven,
                      bool masterGiven) {
  if (!worldGiven)
    if (const char *w = std::getenv("WORLD_SIZE"))
      o.worldSize = std::atoi(w);
  if (!rankGiven)
    if (const char *r = std::getenv("RANK"))
      o.rank = std::atoi(r);
  if (!masterGiven) {
    const char *addr = std::getenv("MASTER_ADDR");
    const char *port = std::getenv("MASTER_PORT");
    if (addr && port)
      o.master = std::string(addr) + ":" + port;
  }
}

Expected<ir::Graph> loadModel(const train::TrainOptions &o,
                              const data::Dataset &d) {
  if (!o.modelPath.empty())
    return onnx::importModelFile(o.modelPath);
  zoo::ModelOptions m;
  m.channels = d.channels;
  m.height = d.height;
  m.width = d.width;
  m.classes = d.numClasses;
  m.seed = o.seed;
  return zoo::buildModel("lenet5", m);
}

Status runTrain(TrainCli &cli, bool worldGiven, bool rankGiven,
                bool masterGiven) {
  train::TrainOptions &o = cli.options;
  applyEnvironment(o, worldGiven, rankGiven, masterGiven);
  auto arch = arch::loadArchOrDefault(cli.archPath);
  if (!arch)
    return arch.error();
  o.arch = arch.take();
  if (!cli.stages.empty()) {
    o.stages = train::Stages{false, false, false};
    for (const std::string &s : cli.stages) {
      if (s == "float")
        o.stages.floatTraining = true;
      else if (s == "qat")
        o.stages.qat = true;
      else if (s == "sparsity")
        o.stages.sparsity = true;
      else
        return makeError("--stages: unknown stage '", s,
                         "' (expected float, qat, sparsity)");
    }
  }
  std::vector<std::string> errors = o.validate();
  if (!errors.empty()) {
    std::string joined;
    for (size_t i = 0; i < errors.size(); ++i)
      joined += (i ? "; " : "") + errors[i];
    return Error(joined);
  }
  auto trainSet = data::loadDataset(o.data, data::Split::Train);
  if (!trainSet)
    return trainSet.error();
  auto testSet = data::loadDataset(o.data, data::Split::Test);
  if (!testSet)
    return testSet.error();
  auto model = loadModel(o, *trainSet);
  if (!model)
    return model.error();

  ConsoleObserver observer(o.progress, o.json);
  train::setInterruptAfterSteps(cli.interruptAfter);
  std::signal(SIGINT, onSigint);
  auto result = train::runTraining(o, *model, *trainSet, *testSet, observer);
  std::signal(SIGINT, SIG_DFL);
  if (!result)
    return result.error();
  if (o.rank != 0)
    return Status::success(); // only rank 0 writes outputs

  if (!o.saveFloat.empty() && !result->floatModel)
    return makeError("--save-float: the float stage did not run in this "
                     "invocation (resumed after it?)");
  // All the files or none; OUTPUT is renamed into place last, so that its
  // presence means the set is complete: a Makefile (examples/dse) whose
  // target is OUTPUT never sees a trained model without its report.
  AtomicFileSet files;
  // Temporaries of a run killed while writing these files.
  for (const std::string &path : {o.saveFloat, o.reportPath(), o.output})
    if (!path.empty())
      removeStaleTemporaries(path);
  if (!o.saveFloat.empty()) {
    auto floatBytes = onnx::exportModel(*result->floatModel);
    if (!floatBytes)
      return floatBytes.error().withContext(o.saveFloat);
    MARS_TRY(files.add(o.saveFloat, *floatBytes));
  }
  const std::string report = train::reportJson(o, *result);
  MARS_TRY(files.add(o.reportPath(), report));
  auto compressed = onnx::exportModel(result->compressed);
  if (!compressed)
    return compressed.error().withContext(o.output);
  MARS_TRY(files.add(o.output, *compressed));
  MARS_TRY(files.commit());
  if (o.json) {
    std::fputs(report.c_str(), stdout);
    return Status::success();
  }
  const double n = double(result->testCount);
  std::printf("float accuracy      %.2f%% (%lld/%lld)\n",
              100.0 * result->floatCorrect / n,
              (long long)result->floatCorrect, (long long)result->testCount);
  std::printf("integer accuracy    %.2f%% (%lld/%lld), W%dA%d, %.1f%% of CIM "
              "groups zero\n",
              100.0 * result->integerCorrect / n,
              (long long)result->integerCorrect, (long long)result->testCount,
              o.wbits, o.abits, 100.0 * result->groupSparsity);
  std::printf("accuracy change     %+.2f points\n",
              100.0 * (result->integerCorrect - result->floatCorrect) / n);
  std::printf("wrote %s and %s (%.1f s)\n", o.output.c_str(),
              o.reportPath().c_str(), result->seconds);
  return Status::success();
}

/// The help footer: what the stages do and what a checkpoint guarantees.
const char *const kTrainFooter =
    "Stages: float training (skipped with --pretrained), QAT (batch-norm "
    "statistics for --freeze-bn-after epochs, then frozen so the network "
    "does no BN arithmetic), gradual pruning of whole CIM groups (wl_on rows "
    "x one partition's output channels, from --arch) to --sparsity, and "
    "fine-tuning with the mask fixed. The reported integer accuracy uses "
    "the integer arithmetic that marsc compile and marsc run use. Writes "
    "OUTPUT (QDQ ONNX) and OUTPUT.report.json.\n\n"
    "Checkpoints: OUTPUT.ckpt/last.pt (or --checkpoint-dir) after every "
    "epoch, every --checkpoint-every N steps, and on Ctrl-C. One holds the "
    "model (weights, batch-norm statistics, CIM-group masks, activation "
    "clips), the optimizer state, the stage, epoch and step, the data "
    "order's position and the random state, so --resume with the same "
    "options (and --threads) writes the same bytes as a run that was never "
    "interrupted. A checkpoint is written to a temporary, fsync'ed and "
    "renamed into place: killing marsc train at any moment (even kill -9, "
    "or a power loss) leaves the previous checkpoint or the new one, "
    "whole; the next run deletes the temporary a killed run left.";

// The options in --help order, in groups; each group's help strings say the
// defaults (TrainOptions holds them).

void addModelOptions(CLI::App *app, train::TrainOptions &o) {
  app->add_option("--model", o.modelPath,
                  "ONNX model to train (default: the built-in lenet5 sized "
                  "for the data)");
  app->add_flag("--pretrained", o.pretrained,
                "The model already carries trained weights: skip float "
                "training");
  app->add_option("--data", o.data,
                  "fashion-mnist (default, Debian's files), fashion-mnist:DIR, "
                  "mnist:DIR, cifar10:DIR or cifar100:DIR");
  app->add_option("-o,--output", o.output, "Compressed model (default "
                                            "compressed.onnx)");
}

void addTrainingOptions(CLI::App *app, TrainCli &cli) {
  train::TrainOptions &o = cli.options;
  app->add_option("--epochs", o.floatEpochs, "Float epochs (default 8)");
  app->add_option("--qat-epochs", o.qatEpochs, "QAT epochs (default 3)");
  app->add_option("--prune-epochs", o.pruneEpochs,
                  "Gradual group-pruning epochs (default 3)");
  app->add_option("--finetune-epochs", o.finetuneEpochs,
                  "Fine-tuning epochs with the mask fixed (default 4)");
  app->add_option("--freeze-bn-after", o.freezeBnAfter,
                  "QAT epochs with batch statistics before freezing (default "
                  "1)");
  app->add_option("--stages", cli.stages,
                  "Stages to run, any of float,qat,sparsity (default all)")
      ->delimiter(',');
  app->add_option("--batch-size", o.batchSize, "Global batch (default 128)");
  app->add_option("--lr", o.learningRate, "Float learning rate (default 0.05)");
  app->add_option("--later-lr-scale", o.laterLrScale,
                  "Learning rate of later stages relative to --lr (default "
                  "0.2)");
  app->add_option("--schedule", o.schedule, "cosine (default) or step");
  app->add_option("--weight-decay", o.weightDecay, "Default 5e-4");
  app->add_option("--optimizer", o.optimizer, "sgd (momentum, default) or adam");
  app->add_option("--momentum", o.momentum, "SGD momentum (default 0.9)");
  app->add_option("--seed", o.seed, "Seed for model, data order, augmentation");
  app->add_option("--threads", o.threads, "Threads (default: all cores)");
  app->add_option("--normalize", o.normalization,
                  "none (pixels / 255, default) or meanstd (per-channel mean "
                  "and std of the training images; carried in the model as "
                  "Sub/Mul before the input quantization)");
  app->add_flag("--augment", o.augment,
                "Random 4-pixel crop and horizontal flip (CIFAR)");
  app->add_option("--limit-train", o.limitTrain,
                  "Use only the first N training images");
  app->add_option("--limit-test", o.limitTest,
                  "Use only the first N test images");
}

void addCompressionOptions(CLI::App *app, TrainCli &cli) {
  train::TrainOptions &o = cli.options;
  app->add_option("--wbits", o.wbits, "Weight bits, 2..8 (default 4)");
  app->add_option("--abits", o.abits, "Activation bits, 2..8 (default 4)");
  app->add_option("--first-last-bits", o.firstLastBits,
                  "Bits of the first and last layers (default 8)");
  app->add_flag("--pow2-scales", o.powerOfTwoScales,
                "Power-of-two scales: requantization by shifts only");
  app->add_option("--sparsity", o.sparsity,
                  "Target fraction of all-zero CIM groups, in [0, 1) "
                  "(default 0.5)");
  app->add_option("--group-lasso", o.groupLasso,
                  "Group-lasso strength during QAT and pruning (default 0)");
  app->add_option("--arch", cli.archPath,
                  "Accelerator JSON (default: built-in MARS spec). When its "
                  "ADC can saturate (wl_on x (2^input_bits_per_cycle - 1) > "
                  "2^adc_bits - 1), QAT computes through it");
  app->add_flag("!--no-adc-in-loop", o.adcInLoop,
                "Train as if the ADC were exact even when --arch's saturates "
                "(for comparison; the integer evaluation still uses it)");
}

void addCheckpointOptions(CLI::App *app, train::TrainOptions &o) {
  app->add_option("--checkpoint-dir", o.checkpointDir,
                  "Checkpoint directory (default OUTPUT.ckpt)");
  app->add_option("--resume", o.resume,
                  "Continue from a checkpoint (same options as the run that "
                  "wrote it)");
  app->add_option("--checkpoint-every", o.checkpointEvery,
                  "Also checkpoint after every N optimizer steps, so that a "
                  "crash loses at most N steps (default 0: at the end of "
                  "each epoch only)");
  app->add_option("--save-float", o.saveFloat,
                  "Also write the trained float model (with BN) as ONNX, for "
                  "--model F --pretrained later");
}

} // namespace

Command addTrainCommand(CLI::App &parent) {
  auto cli = std::make_shared<TrainCli>();
  train::TrainOptions &o = cli->options;
  CLI::App *app = parent.add_subcommand(
      "train", "Train and compress a CNN: float, quantization-aware training "
               "with BN folded into the weights, CIM-group sparsity.");
  app->footer(kTrainFooter);
  addModelOptions(app, o);
  addTrainingOptions(app, *cli);
  addCompressionOptions(app, *cli);
  addCheckpointOptions(app, o);
  app->add_flag("--json", o.json, "Print the report as JSON on stdout");
  app->add_flag("!--no-progress", o.progress, "No progress output");
  CLI::Option *world = app->add_option(
      "--world-size", o.worldSize,
      "Data-parallel processes (c10d/Gloo; or WORLD_SIZE)");
  CLI::Option *rank =
      app->add_option("--rank", o.rank, "This process's rank (or RANK)");
  CLI::Option *master = app->add_option(
      "--master", o.master,
      "Rendezvous HOST:PORT (or MASTER_ADDR/MASTER_PORT; default "
      "127.0.0.1:29500)");
  app->add_option("--interrupt-after-steps", cli->interruptAfter)
      ->group(""); // test hook: behave as if Ctrl-C came after N steps
  app->add_flag("--save-rank-checkpoints", o.saveRankCheckpoints)
      ->group(""); // test hook: every rank writes its checkpoint
  return {app, [cli, world, rank, master] {
            return runTrain(*cli, world->count() > 0, rank->count() > 0,
                            master->count() > 0);
          }};
}

} // namespace mars::cli
