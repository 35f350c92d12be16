#include "mars/train/TrainOptions.h"

#include <cstdlib>

namespace mars::train {

namespace {
void requireRange(std::vector<std::string> &e, const char *flag, int64_t v,
                  int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    e.push_back(std::string(flag) + " must be in " + std::to_string(lo) + ".." +
                std::to_string(hi) + ", got " + std::to_string(v));
}
} // namespace

std::vector<std::string> TrainOptions::validate() const {
  std::vector<std::string> e;
  requireRange(e, "--wbits", wbits, 2, 8);
  requireRange(e, "--abits", abits, 2, 8);
  requireRange(e, "--first-last-bits", firstLastBits, 2, 8);
  requireRange(e, "--epochs", floatEpochs, 0, 10000);
  requireRange(e, "--qat-epochs", qatEpochs, 0, 10000);
  requireRange(e, "--prune-epochs", pruneEpochs, 0, 10000);
  requireRange(e, "--finetune-epochs", finetuneEpochs, 0, 10000);
  requireRange(e, "--freeze-bn-after", freezeBnAfter, 0, 10000);
  requireRange(e, "--batch-size", batchSize, 1, 65536);
  requireRange(e, "--threads", threads, 0, 1024);
  requireRange(e, "--world-size", worldSize, 1, 1024);
  if (rank < 0 || rank >= worldSize)
    e.push_back("--rank must be in 0.." + std::to_string(worldSize - 1) +
                ", got " + std::to_string(rank));
  if (!(learningRate > 0) || learningRate > 100)
    e.push_back("--lr must be positive (and at most 100), got " +
                std::to_string(learningRate));
  if (!(laterLrScale > 0) || laterLrScale > 10)
    e.push_back("--later-lr-scale must be in (0, 10], got " +
                std::to_string(laterLrScale));
  if (!(weightDecay >= 0) || weightDecay > 1)
    e.push_back("--weight-decay must be in [0, 1], got " +
                std::to_string(weightDecay));
  if (!(momentum >= 0) || momentum >= 1)
    e.push_back("--momentum must be in [0, 1), got " +
                std::to_string(momentum));
  if (!(sparsity >= 0) || sparsity >= 1)
    e.push_back("--sparsity must be in [0, 1) (the fraction of CIM groups "
                "that are all zero), got " +
                std::to_string(sparsity));
  if (!(groupLasso >= 0) || groupLasso > 1)
    e.push_back("--group-lasso must be in [0, 1], got " +
                std::to_string(groupLasso));
  if (schedule != "cosine" && schedule != "step")
    e.push_back("--schedule must be cosine or step, got '" + schedule + "'");
  if (optimizer != "sgd" && optimizer != "adam")
    e.push_back("--optimizer must be sgd or adam, got '" + optimizer + "'");
  if (normalization != "none" && normalization != "meanstd")
    e.push_back("--normalize must be none or meanstd, got '" + normalization +
                "'");
  if (checkpointEvery < 0)
    e.push_back("--checkpoint-every must not be negative, got " +
                std::to_string(checkpointEvery));
  if (limitTrain < 0 || limitTest < 0)
    e.push_back("--limit-train/--limit-test must not be negative");
  if (output.empty())
    e.push_back("-o/--output must name a file");
  if (!stages.floatTraining && !pretrained && modelPath.empty())
    e.push_back("skipping float training needs a trained model "
                "(--model with --pretrained)");
  if (!saveFloat.empty() && (pretrained || !stages.floatTraining))
    e.push_back("--save-float needs the float stage (not --pretrained, and "
                "float in --stages)");
  if (master.find(':') == std::string::npos)
    e.push_back("--master must be HOST:PORT, got '" + master + "'");
  // The arch must give groups that can apply: at least one output channel per
  // partition for every weight width used.
  for (int bits : {wbits, firstLastBits})
    if (bits >= 2 && bits <= 8 && arch.partitionCols() < bits)
      e.push_back("arch: a partition of " +
                  std::to_string(arch.partitionCols()) +
                  " columns cannot hold one " + std::to_string(bits) +
                  "-bit weight, so CIM groups cannot be formed");
  return e;
}

Status TrainOptions::check() const {
  std::vector<std::string> errors = validate();
  if (errors.empty())
    return Status::success();
  std::string joined;
  for (size_t i = 0; i < errors.size(); ++i)
    joined += (i ? "; " : "") + errors[i];
  return Error(joined);
}

const char *helpFooter() {
  return "Stages: float training (skipped with --pretrained), QAT (batch-norm "
         "statistics for --freeze-bn-after epochs, then frozen so the network "
         "does no BN arithmetic), gradual pruning of whole CIM groups (wl_on "
         "rows "
         "x one partition's output channels, from --arch) to --sparsity, and "
         "fine-tuning with the mask fixed. The reported integer accuracy uses "
         "the integer arithmetic that marsc compile and marsc run use. Writes "
         "OUTPUT (QDQ ONNX) and OUTPUT.report.json.\n\n"
         "Checkpoints: OUTPUT.ckpt/last.pt (or --checkpoint-dir) after every "
         "epoch, every --checkpoint-every N steps, and on Ctrl-C. One holds "
         "the "
         "model (weights, batch-norm statistics, CIM-group masks, activation "
         "clips), the optimizer state, the stage, epoch and step, the data "
         "order's position and the random state, so --resume with the same "
         "options (and --threads) writes the same bytes as a run that was "
         "never "
         "interrupted. A checkpoint is written to a temporary, fsync'ed and "
         "renamed into place: killing marsc train at any moment (even kill -9, "
         "or a power loss) leaves the previous checkpoint or the new one, "
         "whole; the next run deletes the temporary a killed run left.";
}

std::string TrainOptions::reportPath() const {
  const std::string suffix = ".onnx";
  if (output.size() > suffix.size() &&
      output.compare(output.size() - suffix.size(), suffix.size(), suffix) == 0)
    return output.substr(0, output.size() - suffix.size()) + ".report.json";
  return output + ".report.json";
}

std::string TrainOptions::checkpointDirectory() const {
  return checkpointDir.empty() ? output + ".ckpt" : checkpointDir;
}

Expected<Stages> parseStages(const std::vector<std::string> &names) {
  if (names.empty())
    return Stages{};
  Stages stages{/*floatTraining=*/false, /*qat=*/false, /*sparsity=*/false};
  for (const std::string &s : names) {
    if (s == "float")
      stages.floatTraining = true;
    else if (s == "qat")
      stages.qat = true;
    else if (s == "sparsity")
      stages.sparsity = true;
    else
      return makeError("--stages: unknown stage '", s,
                       "' (expected float, qat, sparsity)");
  }
  return stages;
}

void applyDistributedEnvironment(TrainOptions &o,
                                 const DistributedFlags &given) {
  if (!given.worldSize)
    if (const char *w = std::getenv("WORLD_SIZE"))
      o.worldSize = std::atoi(w);
  if (!given.rank)
    if (const char *r = std::getenv("RANK"))
      o.rank = std::atoi(r);
  if (!given.master) {
    const char *addr = std::getenv("MASTER_ADDR");
    const char *port = std::getenv("MASTER_PORT");
    if (addr && port)
      o.master = std::string(addr) + ":" + port;
  }
}

Status completeOptions(TrainOptions &o, const std::string &archPath,
                       const std::vector<std::string> &stages,
                       const DistributedFlags &given) {
  applyDistributedEnvironment(o, given);
  auto arch = arch::loadArchOrDefault(archPath);
  if (!arch)
    return arch.error();
  o.arch = arch.take();
  if (!stages.empty()) {
    auto parsed = parseStages(stages);
    if (!parsed)
      return parsed.error();
    o.stages = *parsed;
  }
  return o.check();
}

} // namespace mars::train
