// The training driver: stages, epochs, checkpoints, evaluation, export.

#include "Batches.h"
#include "Distributed.h"
#include "ExportQdq.h"
#include "mars/train/GraphModule.h"
#include "mars/train/GroupSparsity.h"
#include "IntegerEval.h"
#include "Normalization.h"

#include "mars/quant/Lower.h"
#include "mars/support/AtomicFile.h"
#include "mars/train/Train.h"

#include <ATen/CPUGeneratorImpl.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <mutex>
#include <sstream>
#include <sys/stat.h>
#include <thread>

namespace mars::train {

namespace {
std::atomic<bool> gInterrupt{false};
quant::AdcModel adcOf(const arch::ArchSpec &a) {
  return {a.macro.wlOn, a.macro.adcBits, a.macro.inputBitsPerCycle};
}
std::atomic<int64_t> gInterruptAfter{0};
} // namespace

void requestInterrupt() { gInterrupt = true; }
bool interruptRequested() { return gInterrupt.load(); }
void setInterruptAfterSteps(int64_t steps) { gInterruptAfter = steps; }

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Stage {
  std::string name; ///< float, qat, prune, finetune.
  int epochs = 0;
  double learningRate = 0;
};

/// The epoch index that seeds an epoch's data order and augmentation
/// (Batches.h): the stage's place in the whole pipeline (float, qat, prune,
/// finetune) and the epoch within the stage. A stage then sees the same
/// images whichever stages ran before it in this process, so `--save-float
/// F` followed by `--model F --pretrained` continues exactly as one run of
/// every stage does (the sparsity sweep relies on it).
int64_t dataEpochOf(const Stage &stage, int epochInStage) {
  static const char *const kPipeline[] = {"float", "qat", "prune", "finetune"};
  int64_t place = 0;
  for (int64_t i = 0; i < int64_t(std::size(kPipeline)); ++i)
    if (stage.name == kPipeline[i])
      place = i;
  return (place << 32) + epochInStage;
}

/// Where training stands; saved in checkpoints.
struct TrainState {
  int stage = 0;
  int epoch = 0;    ///< Within the stage.
  int64_t step = 0; ///< Next step within the epoch.
  int64_t totalSteps = 0;
  bool calibrated = false;
  int64_t floatCorrect = -1;
  // Running sums of the current epoch (so a resumed epoch reports the same).
  double lossSum = 0;
  int64_t correct = 0, seen = 0;
  double epochSeconds = 0;
};

class Trainer {
public:
  Trainer(const TrainOptions &o, const data::Dataset &train,
          const data::Dataset &test, TrainObserver &obs)
      : options_(o), train_(train), test_(test), obs_(obs) {}

  Expected<TrainResult> run(const ir::Graph &model) {
    const auto start = Clock::now();
    MARS_TRY(setUp(model));

    planStages();
    TrainState state;
    if (!options_.resume.empty())
      MARS_TRY(loadCheckpoint(options_.resume, state));
    ::mkdir(options_.checkpointDirectory().c_str(), 0755);
    // A run killed while writing a checkpoint leaves its temporary (never a
    // half-written checkpoint: see saveCheckpoint). Only the root writes
    // last.pt; other ranks, maybe on other hosts, cannot tell its pid.
    if (int n = dp_->isRoot() ? removeStaleTemporaries(checkpointPath()) : 0)
      obs_.onMessage("removed " + std::to_string(n) +
                     " unfinished checkpoint temporar" +
                     (n == 1 ? "y" : "ies") + " of a killed run");

    for (; state.stage < int(stages_.size()); ++state.stage)
      MARS_TRY(runStage(stages_[state.stage], state));
    if (state.floatCorrect < 0)
      state.floatCorrect = evaluate(RunMode::Float);
    if (!state.calibrated)
      calibrate();
    return finish(state, start);
  }

private:
  /// Threads, seed, the ranks, and the module built from `model` (with the
  /// input normalisation and the ADC the options ask for); fails for a
  /// model whose input does not take the training images.
  Status setUp(const ir::Graph &model) {
    threads_ = options_.threads > 0
                   ? options_.threads
                   : int(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads_);
    torch::manual_seed(options_.seed);

    auto dp = DataParallel::connect(options_.worldSize, options_.rank,
                                    options_.master);
    if (!dp)
      return dp.error();
    dp_ = dp.take();
    if (options_.batchSize % options_.worldSize != 0)
      return makeError("--batch-size ", options_.batchSize,
                       " must be divisible by --world-size ",
                       options_.worldSize);

    ir::Graph trainGraph = model;
    if (options_.normalization == "meanstd") {
      ChannelStats stats = channelStats(train_, trainCount());
      auto normalised = withInputNormalization(model, stats);
      if (!normalised)
        return normalised.error();
      trainGraph = normalised.take();
      obs_.onMessage("normalising inputs with per-channel mean/std of the "
                     "training images");
    }
    auto module = GraphModule::create(trainGraph, options_.arch, options_.wbits,
                                      options_.abits, options_.firstLastBits,
                                      options_.powerOfTwoScales,
                                      /*signedInput=*/false);
    if (!module)
      return module.error();
    module_ = module.take();
    const quant::AdcModel archAdc = adcOf(options_.arch);
    if (archAdc.saturates() && options_.adcInLoop) {
      module_->setAdc(archAdc);
      obs_.onMessage("the QAT forward pass computes through the arch's "
                     "saturating ADC (" +
                     archAdc.describe() + ")");
    }
    if (model.value(model.inputs[0]).type.shape.size() != 4 ||
        model.value(model.inputs[0]).type.shape[1] != train_.channels ||
        model.value(model.inputs[0]).type.shape[2] != train_.height ||
        model.value(model.inputs[0]).type.shape[3] != train_.width)
      return makeError(
          "the model's input ",
          ir::shapeToString(model.value(model.inputs[0]).type.shape),
          " does not take ", train_.name, " images (", train_.channels, "x",
          train_.height, "x", train_.width, ")");
    return Status::success();
  }

  /// The remaining epochs of one stage, from where `state` stands. The
  /// first stage after float training starts by calibrating the clips.
  Status runStage(const Stage &stage, TrainState &state) {
    obs_.onMessage(describeStage(stage, state));
    if (stage.name != "float" && !state.calibrated) {
      if (state.floatCorrect < 0)
        state.floatCorrect = evaluate(RunMode::Float);
      calibrate();
      state.calibrated = true;
    }
    makeOptimizer(stage.learningRate);
    if (!resumeOptimizer_.empty()) {
      torch::serialize::InputArchive whole, optim;
      whole.load_from(resumeOptimizer_);
      whole.read("optimizer", optim);
      optimizer_->load(optim);
      resumeOptimizer_.clear();
    }
    for (; state.epoch < stage.epochs; ++state.epoch) {
      Status s = runEpoch(stage, state);
      if (!s)
        return s.error();
      MARS_TRY(endEpoch(stage, state));
    }
    state.epoch = 0;
    if (stage.name == "float")
      floatModel_ = module_->floatGraph();
    return Status::success();
  }

  /// Clears the epoch's running sums and saves the end-of-epoch checkpoint.
  Status endEpoch(const Stage &stage, TrainState &state) {
    state.step = 0;
    state.lossSum = 0;
    state.correct = state.seen = 0;
    state.epochSeconds = 0;
    if (dp_->isRoot()) {
      // The checkpoint points at the next epoch (or the next stage).
      TrainState next = state;
      if (++next.epoch == stage.epochs) {
        ++next.stage;
        next.epoch = 0;
      }
      MARS_TRY(saveCheckpoint(checkpointPath(), next));
    } else if (options_.saveRankCheckpoints) {
      MARS_TRY(saveCheckpoint(options_.checkpointDirectory() + "/last.rank" +
                                  std::to_string(dp_->rank()) + ".pt",
                              state));
    }
    return Status::success();
  }

  /// After the last stage: the QAT accuracy, the compressed model, and its
  /// integer accuracy and per-layer summary through the arch's ADC.
  Expected<TrainResult> finish(const TrainState &state,
                               Clock::time_point start) {
    TrainResult result;
    result.floatCorrect = state.floatCorrect;
    result.qatCorrect = evaluate(RunMode::Qat);
    result.testCount = testCount();
    result.curve = curve_;
    result.floatModel = floatModel_;
    auto compressed = exportCompressed(*module_);
    if (!compressed)
      return compressed.error().withContext("exporting the compressed model");
    quant::LowerOptions lowerOptions;
    lowerOptions.powerOfTwoScales = options_.powerOfTwoScales;
    auto net = quant::lowerToInteger(*compressed, lowerOptions);
    if (!net)
      return net.error();
    // Evaluate through the arch's ADC, as the chip computes: with a
    // saturating ADC this is the accuracy `marsc run` will count.
    net->adc = adcOf(options_.arch);
    obs_.onMessage(
        "integer evaluation of " + std::to_string(testCount()) +
        " test images" +
        (net->adc.saturates() ? " through the arch's saturating ADC" : ""));
    result.integerCorrect =
        countCorrectInteger(*net, test_, testCount(), threads_);
    result.layers = summarizeLayers(*net, options_.arch);
    int64_t groups = 0, zero = 0;
    for (const LayerSummary &l : result.layers) {
      groups += l.groups;
      zero += l.zeroGroups;
    }
    result.groupSparsity = groups ? double(zero) / double(groups) : 0.0;
    result.compressed = compressed.take();
    result.seconds = secondsSince(start);
    result.threads = threads_;
    return result;
  }

  int64_t trainCount() const {
    return options_.limitTrain > 0 ? std::min(options_.limitTrain, train_.count)
                                   : train_.count;
  }
  int64_t testCount() const {
    return options_.limitTest > 0 ? std::min(options_.limitTest, test_.count)
                                  : test_.count;
  }
  int64_t stepsPerEpoch() const { return trainCount() / options_.batchSize; }
  std::string checkpointPath() const {
    return options_.checkpointDirectory() + "/last.pt";
  }

  /// "stage 'prune': 2 epochs of 16 steps" (and where a resumed run
  /// continues); the line that starts each stage.
  std::string describeStage(const Stage &stage, const TrainState &s) const {
    std::string line = "stage '" + stage.name +
                       "': " + std::to_string(stage.epochs) + " epoch" +
                       (stage.epochs == 1 ? "" : "s") + " of " +
                       std::to_string(stepsPerEpoch()) + " steps";
    if (s.epoch > 0 || s.step > 0)
      line += ", continuing at epoch " + std::to_string(s.epoch + 1) +
              ", step " + std::to_string(s.step + 1);
    return line;
  }

  void planStages() {
    const double later = options_.learningRate * options_.laterLrScale;
    const bool sparse = options_.stages.sparsity && options_.sparsity > 0;
    if (options_.stages.floatTraining && !options_.pretrained)
      stages_.push_back({"float", options_.floatEpochs, options_.learningRate});
    if (options_.stages.qat)
      stages_.push_back({"qat", options_.qatEpochs, later});
    if (sparse) {
      stages_.push_back({"prune", options_.pruneEpochs, later});
      stages_.push_back({"finetune", options_.finetuneEpochs, later * 0.5});
    }
  }

  void makeOptimizer(double lr) {
    std::vector<torch::Tensor> params = module_->parameters();
    if (options_.optimizer == "adam")
      optimizer_ = std::make_unique<torch::optim::Adam>(
          params,
          torch::optim::AdamOptions(lr).weight_decay(options_.weightDecay));
    else
      optimizer_ = std::make_unique<torch::optim::SGD>(
          params, torch::optim::SGDOptions(lr)
                      .momentum(options_.momentum)
                      .weight_decay(options_.weightDecay));
  }

  double learningRateAt(const Stage &stage, int64_t step, int64_t steps) const {
    const double t = steps > 0 ? double(step) / double(steps) : 0.0;
    if (options_.schedule == "step")
      return stage.learningRate * (t < 0.5 ? 1.0 : t < 0.75 ? 0.1 : 0.01);
    return stage.learningRate * 0.5 * (1.0 + std::cos(M_PI * t));
  }

  /// Activation clips from the float model's ranges on the first batches,
  /// the same images on every rank.
  void calibrate() {
    torch::NoGradGuard noGrad;
    module_->eval();
    module_->beginCalibration();
    const int64_t n = std::min<int64_t>(trainCount(), 4 * 256);
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      idx[i] = i;
    for (int64_t b = 0; b < n; b += 256) {
      auto batch =
          makeBatch(train_, idx.data() + b, std::min<int64_t>(256, n - b),
                    Augmentation::None, options_.seed, 0, b);
      module_->forward(batch.first);
    }
    module_->finishCalibration();
    module_->train();
    obs_.onMessage("calibrated activation clips on " + std::to_string(n) +
                   " images");
  }

  int64_t evaluate(RunMode mode) {
    torch::NoGradGuard noGrad;
    const RunMode previous = module_->mode();
    module_->eval();
    module_->setMode(mode);
    int64_t correct = 0;
    const int64_t n = testCount();
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      idx[i] = i;
    for (int64_t b = 0; b < n; b += 500) {
      int64_t count = std::min<int64_t>(500, n - b);
      auto batch =
          makeBatch(test_, idx.data() + b, count, Augmentation::None, 0, 0, 0);
      auto logits = module_->forward(batch.first);
      correct += logits.argmax(1).eq(batch.second).sum().item<int64_t>();
    }
    module_->setMode(previous);
    module_->train();
    return correct;
  }

  Status runEpoch(const Stage &stage, TrainState &state) {
    const int64_t steps = stepsPerEpoch();
    if (steps == 0)
      return makeError("the training set (", trainCount(),
                       " images) is smaller than one batch (",
                       options_.batchSize, ")");
    const int64_t stageSteps = steps * stage.epochs;
    const std::vector<int64_t> order = epochOrder(
        trainCount(), options_.seed, dataEpochOf(stage, state.epoch));
    const bool isFloat = stage.name == "float";
    module_->train();
    module_->setMode(isFloat ? RunMode::Float : RunMode::Qat);
    module_->freezeBatchNorm(
        !isFloat &&
        !(stage.name == "qat" && state.epoch < options_.freezeBnAfter));
    const bool bnUpdates = !module_->batchNormFrozen();
    const auto epochStart = Clock::now();
    auto lastReport = Clock::now();
    const std::vector<double> targets =
        layerPruneTargets(*module_, options_.sparsity);
    const int64_t pruneEvery = std::max<int64_t>(1, stageSteps / 16);

    for (; state.step < steps; ++state.step) {
      const int64_t stageStep = int64_t(state.epoch) * steps + state.step;
      if (stage.name == "prune" && stageStep % pruneEvery == 0)
        prune(targets, double(stageStep + pruneEvery) / double(stageSteps));
      const double lr = learningRateAt(stage, stageStep, stageSteps);
      for (auto &group : optimizer_->param_groups())
        group.options().set_lr(lr);
      MARS_TRY(trainStep(stage, state, order, bnUpdates));
      if (secondsSince(lastReport) > 0.25 || state.step + 1 == steps) {
        lastReport = Clock::now();
        reportProgress(stage, state, steps, epochStart);
      }
      MARS_TRY(checkpointWithinEpoch(state, steps, epochStart));
    }
    if (stage.name == "prune" && state.epoch + 1 == stage.epochs)
      prune(targets, 1.0); // reach the full target at the end of the stage
    recordEpoch(stage, state, steps, epochStart);
    return Status::success();
  }

  /// One optimizer step on this rank's share of the batch at state.step:
  /// forward, loss (plus the group-lasso term after float training),
  /// backward, gradients averaged over the ranks, masks applied again;
  /// adds to the epoch's running sums.
  Status trainStep(const Stage &stage, TrainState &state,
                   const std::vector<int64_t> &order, bool bnUpdates) {
    const bool isFloat = stage.name == "float";
    const int64_t local = options_.batchSize / options_.worldSize;
    const int64_t offset =
        state.step * options_.batchSize + dp_->rank() * local;
    auto batch = makeBatch(
        train_, order.data() + offset, local,
        options_.augment ? Augmentation::CropAndFlip : Augmentation::None,
        options_.seed, dataEpochOf(stage, state.epoch), offset);
    optimizer_->zero_grad();
    torch::Tensor logits = module_->forward(batch.first);
    torch::Tensor loss =
        torch::nn::functional::cross_entropy(logits, batch.second);
    if (options_.groupLasso > 0 && !isFloat)
      loss = loss + options_.groupLasso * groupLassoPenalty(*module_);
    loss.backward();
    std::vector<torch::Tensor> grads;
    for (auto &p : module_->parameters())
      if (p.grad().defined())
        grads.push_back(p.grad());
    // The loss travels with the gradients so that every rank sees a
    // divergence on any rank, and all stop together.
    torch::Tensor meanLoss = loss.detach().reshape({1}).clone();
    grads.push_back(meanLoss);
    dp_->allReduceMean(grads);
    if (!std::isfinite(meanLoss.item<double>()))
      return diverged(stage, state, meanLoss.item<double>());
    optimizer_->step();
    module_->applyMasks();
    if (bnUpdates && dp_->worldSize() > 1)
      dp_->allReduceMean(runningStatistics());

    state.lossSum += loss.item<double>() * double(local);
    state.correct += logits.argmax(1).eq(batch.second).sum().item<int64_t>();
    state.seen += local;
    ++state.totalSteps;
    return Status::success();
  }

  void reportProgress(const Stage &stage, const TrainState &state,
                      int64_t steps, Clock::time_point epochStart) {
    Progress p;
    p.stage = stage.name;
    p.epoch = state.epoch + 1;
    p.epochs = stage.epochs;
    p.step = state.step + 1;
    p.steps = steps;
    p.loss = state.lossSum / double(state.seen);
    p.accuracy = double(state.correct) / double(state.seen);
    double elapsed = state.epochSeconds + secondsSince(epochStart);
    p.imagesPerSecond = double(state.seen) * options_.worldSize / elapsed;
    p.etaSeconds =
        elapsed / double(state.step + 1) * double(steps - state.step - 1);
    obs_.onProgress(p);
  }

  /// The checkpoints saved after a step: on an interrupt (then training
  /// stops with an error that says how to resume) and by --checkpoint-every.
  Status checkpointWithinEpoch(const TrainState &state, int64_t steps,
                               Clock::time_point epochStart) {
    const int64_t after = gInterruptAfter.load();
    const bool interrupted =
        gInterrupt || (after > 0 && state.totalSteps == after);
    // --checkpoint-every: within the epoch only; its end saves anyway.
    const bool periodic = options_.checkpointEvery > 0 &&
                          state.totalSteps % options_.checkpointEvery == 0 &&
                          state.step + 1 < steps;
    if (!interrupted && !periodic)
      return Status::success();
    // Where training stands after this step: a resumed run starts with
    // the next one.
    TrainState next = state;
    ++next.step;
    next.epochSeconds += secondsSince(epochStart);
    const std::string path = checkpointPath();
    if (dp_->isRoot())
      MARS_TRY(saveCheckpoint(path, next));
    if (interrupted)
      return makeError("interrupted: checkpoint saved to ", path,
                       "; continue with --resume ", path);
    return Status::success();
  }

  /// The epoch's line of the learning curve, with the test accuracy in the
  /// mode it trained in.
  void recordEpoch(const Stage &stage, const TrainState &state, int64_t steps,
                   Clock::time_point epochStart) {
    const int64_t stageSteps = steps * stage.epochs;
    EpochRecord r;
    r.stage = stage.name;
    r.epoch = state.epoch + 1;
    r.loss = state.lossSum / double(state.seen);
    r.trainAccuracy = double(state.correct) / double(state.seen);
    r.testAccuracy = double(evaluate(module_->mode())) / double(testCount());
    r.learningRate =
        learningRateAt(stage, int64_t(state.epoch + 1) * steps - 1, stageSteps);
    r.groupSparsity = maskedGroupFraction(*module_);
    r.seconds = state.epochSeconds + secondsSince(epochStart);
    r.imagesPerSecond = double(steps * options_.batchSize) / r.seconds;
    curve_.push_back(r);
    obs_.onEpoch(r);
  }

  /// Training produced a NaN or infinite loss: stop before the step
  /// spreads it into the weights, pointing at the last good checkpoint
  /// (the last one saved, at the end of the previous epoch or by
  /// --checkpoint-every; never overwritten here).
  Error diverged(const Stage &stage, const TrainState &state,
                 double loss) const {
    struct stat st;
    const std::string path = checkpointPath();
    const std::string saved = ::stat(path.c_str(), &st) == 0
                                  ? "; the last good checkpoint is " + path +
                                        " (continue with --resume " + path +
                                        " and a lower --lr)"
                                  : "; no checkpoint was saved before it";
    char lr[32];
    std::snprintf(lr, sizeof lr, "%g", options_.learningRate);
    return makeError("training diverged in stage '", stage.name, "', epoch ",
                     state.epoch + 1, ", step ", state.step + 1, " (loss ",
                     std::isnan(loss) ? "nan"
                     : loss > 0       ? "inf"
                                      : "-inf",
                     "); try a lower --lr (now ", lr, ")", saved);
  }

  void prune(const std::vector<double> &targets, double t) {
    const double g = gradualTarget(1.0, t);
    auto &layers = module_->layers();
    for (size_t i = 0; i < layers.size(); ++i)
      if (targets[i] > 0)
        pruneLayer(layers[i], groupNorms(*module_, layers[i]), targets[i] * g);
    module_->applyMasks();
  }

  std::vector<torch::Tensor> runningStatistics() {
    std::vector<torch::Tensor> out;
    for (auto &l : module_->layers())
      if (l.runningMean.defined()) {
        out.push_back(l.runningMean);
        out.push_back(l.runningVar);
      }
    return out;
  }

  // ---- checkpoints -------------------------------------------------------
  //
  // A checkpoint holds everything the rest of the run depends on, so that
  // --resume gives the uninterrupted run's bytes:
  //   model      every parameter and buffer of GraphModule: weights, biases,
  //              BN γ/β and running statistics, CIM-group masks, the learned
  //              activation clips (which hold the calibration);
  //   optimizer  SGD momentum / Adam moments and step counts;
  //   state      stage, epoch and next step, the global epoch (which with
  //              --seed fixes data order and augmentation: Batches.h),
  //              total steps (--checkpoint-every), whether calibrated, the
  //              float accuracy, the running sums of the current epoch;
  //   curve      the finished epochs' records (for the report);
  //   torch_rng  LibTorch's default CPU generator (nothing draws from it
  //              today; restored so that nothing that does can break resume).
  // The learning rate is a function of the stage step, the prune schedule
  // of the stage step and the weights, so neither needs saving.
  static torch::Tensor torchRngState() {
    at::Generator g = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(g.mutex());
    return g.get_state();
  }
  static void setTorchRngState(const torch::Tensor &state) {
    at::Generator g = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(state);
  }

  Status saveCheckpoint(const std::string &path, const TrainState &s) {
    try {
      torch::serialize::OutputArchive archive, model, optim;
      module_->save(model);
      optimizer_->save(optim);
      archive.write("model", model);
      archive.write("optimizer", optim);
      archive.write("torch_rng", torchRngState());
      // Integers travel as int64 tensors, doubles as float64. Slot 3 held
      // a count of all epochs run, no longer used (the data order is keyed
      // by dataEpochOf); it stays, as 0, so every checkpoint has one layout.
      archive.write("state", torch::tensor({int64_t(s.stage), int64_t(s.epoch),
                                            s.step, int64_t(0), s.totalSteps,
                                            int64_t(s.calibrated),
                                            s.floatCorrect, s.correct, s.seen},
                                           torch::kLong));
      archive.write("state_f",
                    torch::tensor({s.lossSum, s.epochSeconds}, torch::kDouble));
      archive.write("curve", curveTensor());
      // Serialised in memory, then written like every other output
      // (writeFileAtomic: a temporary, then rename), so a checkpoint is
      // never half-written, even when the process is killed; durably (fsync
      // of the file and its directory), so not after a power loss either.
      std::ostringstream bytes;
      archive.save_to(bytes);
      MARS_TRY(writeFileAtomic(path, bytes.str(), Durability::Durable));
    } catch (const std::exception &e) {
      return makeError(path, ": cannot write the checkpoint: ", e.what());
    }
    return Status::success();
  }

  Status loadCheckpoint(const std::string &path, TrainState &s) {
    try {
      torch::serialize::InputArchive archive, model, optim;
      archive.load_from(path);
      archive.read("model", model);
      module_->load(model);
      torch::Tensor st, sf, curve, rng;
      archive.read("state", st);
      archive.read("state_f", sf);
      archive.read("curve", curve);
      // Absent from checkpoints of earlier versions: keep the seeded state.
      if (archive.try_read("torch_rng", rng))
        setTorchRngState(rng);
      auto v = st.accessor<int64_t, 1>();
      s.stage = int(v[0]);
      s.epoch = int(v[1]);
      s.step = v[2];
      s.totalSteps = v[4];
      s.calibrated = v[5] != 0;
      s.floatCorrect = v[6];
      s.correct = v[7];
      s.seen = v[8];
      s.lossSum = sf[0].item<double>();
      s.epochSeconds = sf[1].item<double>();
      readCurve(curve);
      if (s.stage > int(stages_.size()))
        return makeError(path, ": the checkpoint is past the last stage of "
                               "this run's plan");
      if (s.calibrated)
        module_->setMode(RunMode::Qat);
      // The optimizer of the checkpoint's stage is restored once that stage's
      // optimizer exists (a checkpoint at a stage boundary starts afresh).
      if (s.epoch > 0 || s.step > 0)
        resumeOptimizer_ = path;
    } catch (const std::exception &e) {
      std::string what = e.what();
      return makeError(path, ": not a marsc checkpoint or corrupt (",
                       what.substr(0, what.find('\n')), ")");
    }
    obs_.onMessage("resuming from " + path + " (" +
                   (s.stage < int(stages_.size())
                        ? "stage '" + stages_[s.stage].name + "', epoch " +
                              std::to_string(s.epoch + 1) + ", step " +
                              std::to_string(s.step + 1)
                        : std::string("all stages done")) +
                   ")");
    return Status::success();
  }

  torch::Tensor curveTensor() const {
    std::vector<double> flat;
    for (const EpochRecord &r : curve_) {
      double stage = r.stage == "float"   ? 0
                     : r.stage == "qat"   ? 1
                     : r.stage == "prune" ? 2
                                          : 3;
      flat.insert(flat.end(), {stage, double(r.epoch), r.loss, r.trainAccuracy,
                               r.testAccuracy, r.learningRate, r.groupSparsity,
                               r.seconds, r.imagesPerSecond});
    }
    return torch::tensor(flat, torch::kDouble);
  }

  void readCurve(const torch::Tensor &t) {
    static const char *names[] = {"float", "qat", "prune", "finetune"};
    auto v = t.accessor<double, 1>();
    curve_.clear();
    for (int64_t i = 0; i + 9 <= t.size(0); i += 9) {
      EpochRecord r;
      r.stage = names[int(v[i])];
      r.epoch = int(v[i + 1]);
      r.loss = v[i + 2];
      r.trainAccuracy = v[i + 3];
      r.testAccuracy = v[i + 4];
      r.learningRate = v[i + 5];
      r.groupSparsity = v[i + 6];
      r.seconds = v[i + 7];
      r.imagesPerSecond = v[i + 8];
      curve_.push_back(r);
    }
  }

  const TrainOptions &options_;
  const data::Dataset &train_;
  const data::Dataset &test_;
  TrainObserver &obs_;
  std::shared_ptr<GraphModule> module_;
  std::unique_ptr<DataParallel> dp_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<Stage> stages_;
  std::vector<EpochRecord> curve_;
  std::string resumeOptimizer_;
  std::optional<ir::Graph> floatModel_;
  int threads_ = 1;
};

} // namespace

Expected<TrainResult> runTraining(const TrainOptions &options,
                                  const ir::Graph &model,
                                  const data::Dataset &trainSet,
                                  const data::Dataset &testSet,
                                  TrainObserver &observer) {
  std::vector<std::string> errors = options.validate();
  if (!errors.empty()) {
    std::string joined;
    for (size_t i = 0; i < errors.size(); ++i)
      joined += (i ? "; " : "") + errors[i];
    return Error(joined);
  }
  try {
    Trainer trainer(options, trainSet, testSet, observer);
    return trainer.run(model);
  } catch (const std::exception &e) {
    // LibTorch reports shape problems and the like by throwing; they end
    // here as one line.
    std::string what = e.what();
    return makeError("training failed: ", what.substr(0, what.find('\n')));
  }
}

} // namespace mars::train
