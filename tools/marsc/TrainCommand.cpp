// `marsc train`: thin wiring around mars::train::runTraining.
#include "Commands.h"

#include "mars/data/Dataset.h"
#include "mars/onnx/Export.h"
#include "mars/onnx/Import.h"
#include "mars/train/Console.h"
#include "mars/train/Train.h"
#include "mars/zoo/Zoo.h"

#include <cstdio>
#include <memory>

namespace mars::cli {

namespace {

struct TrainCli {
  train::TrainOptions options;
  std::string archPath;
  std::vector<std::string> stages;
  int64_t interruptAfter = 0; // hidden test hook
};

/// --model, or the built-in lenet5 sized for the data.
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

Status runTrain(TrainCli &cli, const train::DistributedFlags &given) {
  train::TrainOptions &o = cli.options;
  MARS_TRY(train::completeOptions(o, cli.archPath, cli.stages, given));
  auto trainSet = data::loadDataset(o.data, data::Split::Train);
  if (!trainSet)
    return trainSet.error();
  auto testSet = data::loadDataset(o.data, data::Split::Test);
  if (!testSet)
    return testSet.error();
  auto model = loadModel(o, *trainSet);
  if (!model)
    return model.error();

  train::ConsoleObserver observer(o.progress);
  train::setInterruptAfterSteps(cli.interruptAfter);
  auto result = [&] {
    train::CtrlCInterrupts ctrlC; // Ctrl-C saves a checkpoint
    return train::runTraining(o, *model, *trainSet, *testSet, observer);
  }();
  if (!result)
    return result.error();
  if (o.rank != 0)
    return Status::success(); // only rank 0 writes outputs
  auto report = train::writeOutputs(o, *result, onnx::exportModel);
  if (!report)
    return report.error();
  std::fputs((o.json ? *report : train::summaryText(o, *result)).c_str(),
             stdout);
  return Status::success();
}

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
  app->add_option("-o,--output", o.output,
                  "Compressed model (default "
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
  app->add_option("--optimizer", o.optimizer,
                  "sgd (momentum, default) or adam");
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
  app->footer(train::helpFooter());
  addModelOptions(app, o);
  addTrainingOptions(app, *cli);
  addCompressionOptions(app, *cli);
  addCheckpointOptions(app, o);
  app->add_flag("--json", o.json, "Print the report as JSON on stdout");
  app->add_flag("!--no-progress", o.progress, "No progress output");
  CLI::Option *world =
      app->add_option("--world-size", o.worldSize,
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
            return runTrain(*cli, {world->count() > 0, rank->count() > 0,
                                   master->count() > 0});
          }};
}

} // namespace mars::cli
