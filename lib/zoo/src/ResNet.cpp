#include "Models.h"

#include <vector>

namespace mars::zoo {

namespace {
/// A BasicBlock: conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut (identity, or
/// a 1x1 conv + BN when the stride or the width changes), then ReLU.
ir::ValueId basicBlock(GraphBuilder &b, ir::ValueId x,
                       const std::string &prefix, int64_t channels,
                       int64_t stride) {
  ir::ValueId y = b.conv(x, prefix + "conv1", channels, /*kernel=*/3, stride,
                         /*pad=*/1);
  y = b.relu(b.batchNorm(y, prefix + "bn1"), prefix + "relu1");
  y = b.conv(y, prefix + "conv2", channels, /*kernel=*/3, /*stride=*/1,
             /*pad=*/1);
  y = b.batchNorm(y, prefix + "bn2");
  ir::ValueId shortcut = x;
  if (stride != 1 || b.channelsOf(x) != channels) {
    shortcut = b.conv(x, prefix + "downsample.0", channels, /*kernel=*/1,
                      stride, /*pad=*/0);
    shortcut = b.batchNorm(shortcut, prefix + "downsample.1");
  }
  return b.relu(b.add(y, shortcut, prefix + "add"), prefix + "relu2");
}

/// The CIFAR ResNet skeleton: a 3x3 stem, stages of BasicBlocks (each stage
/// after the first halves the resolution), global average pool, linear.
Expected<ir::Graph> buildResNet(const char *name,
                                const std::vector<int64_t> &widths,
                                int blocksPerStage,
                                const ResolvedOptions &options) {
  GraphBuilder b(name, options);
  ir::ValueId x = b.input();
  x = b.conv(x, "conv1", b.scaled(widths[0]), /*kernel=*/3, /*stride=*/1,
             /*pad=*/1);
  x = b.relu(b.batchNorm(x, "bn1"), "relu");
  for (size_t stage = 0; stage < widths.size(); ++stage) {
    for (int block = 0; block < blocksPerStage; ++block) {
      std::string prefix = "layer" + std::to_string(stage + 1) + "." +
                           std::to_string(block) + ".";
      int64_t stride = stage > 0 && block == 0 ? 2 : 1;
      x = basicBlock(b, x, prefix, b.scaled(widths[stage]), stride);
    }
  }
  x = b.globalAveragePool(x, "avgpool");
  x = b.flatten(x, "flatten");
  x = b.linear(x, "fc", options.classes, "logits");
  return b.finish(x);
}
} // namespace

Expected<ir::Graph> buildResNet18(const ResolvedOptions &options) {
  return buildResNet("resnet18", {64, 128, 256, 512}, /*blocksPerStage=*/2,
                     options);
}

Expected<ir::Graph> buildResNet20(const ResolvedOptions &options) {
  return buildResNet("resnet20", {16, 32, 64}, /*blocksPerStage=*/3, options);
}

} // namespace mars::zoo
