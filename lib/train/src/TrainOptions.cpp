#include "mars/train/TrainOptions.h"

namespace mars::train {

namespace {
void requireRange(std::vector<std::string> &e, const char *flag, int64_t v,
                  int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    e.push_back(std::string(flag) + " must be in " + std::to_string(lo) +
                ".." + std::to_string(hi) + ", got " + std::to_string(v));
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
    e.push_back("--momentum must be in [0, 1), got " + std::to_string(momentum));
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

} // namespace mars::train
