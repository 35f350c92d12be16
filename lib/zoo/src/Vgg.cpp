#include "Models.h"

#include <vector>

namespace mars::zoo {

namespace {
/// A VGG configuration: channel counts, with kPool marking a 2x2 max pool.
constexpr int64_t kPool = 0;

/// Conv3x3-BN-ReLU blocks and pools as listed, then Flatten and one linear
/// layer. Convs and pools are named per block: "block2.conv1", "block2.pool".
Expected<ir::Graph> buildVgg(const char *name, const std::vector<int64_t> &cfg,
                             const ResolvedOptions &options) {
  GraphBuilder b(name, options);
  ir::ValueId x = b.input();
  int block = 1, conv = 1;
  for (int64_t channels : cfg) {
    std::string prefix = "block" + std::to_string(block) + ".";
    if (channels == kPool) {
      x = b.maxPool(x, prefix + "pool", /*kernel=*/2, /*stride=*/2);
      ++block;
      conv = 1;
      continue;
    }
    std::string n = std::to_string(conv++);
    x = b.conv(x, prefix + "conv" + n, b.scaled(channels), /*kernel=*/3,
               /*stride=*/1, /*pad=*/1);
    x = b.relu(b.batchNorm(x, prefix + "bn" + n), prefix + "relu" + n);
  }
  x = b.flatten(x, "flatten");
  x = b.linear(x, "fc", options.classes, "logits");
  return b.finish(x);
}
} // namespace

Expected<ir::Graph> buildVggSmall(const ResolvedOptions &options) {
  return buildVgg("vgg-small",
                  {128, 128, kPool, 256, 256, kPool, 512, 512, kPool}, options);
}

Expected<ir::Graph> buildVgg16(const ResolvedOptions &options) {
  return buildVgg("vgg16",
                  {64, 64, kPool, 128, 128, kPool, 256, 256, 256, kPool, 512,
                   512, 512, kPool, 512, 512, 512, kPool},
                  options);
}

} // namespace mars::zoo
